// Each row is its own (Jacobi-preconditioned) conjugate-gradient run; the rows share the iteration
// only so that their matrix products form one GEMM. A row that has converged is frozen (step and
// direction zero), which also avoids dividing by its vanishing residual.
#include "engine/conversion/row_conjugate_gradient.hpp"

#include <stdexcept>

namespace srigl::nm {

namespace {

torch::Tensor rowDot(const torch::Tensor& a, const torch::Tensor& b) { return (a * b).sum(1); }

} // namespace

RowConjugateGradientResult solveRowsByConjugateGradient(const torch::Tensor& h, const torch::Tensor& keep,
                                                        const torch::Tensor& rhs, double lambda, torch::Tensor& rows,
                                                        const RowConjugateGradientOptions& options) {
    if (h.dim() != 2 || h.size(0) != h.size(1))
        throw std::invalid_argument("conjugate gradient needs a square [c, c] matrix");
    if (keep.dim() != 2 || keep.size(1) != h.size(0) || !rhs.sizes().equals(keep.sizes()) ||
        !rows.sizes().equals(keep.sizes()))
        throw std::invalid_argument("conjugate gradient: rows, mask and right-hand side must be [r, c]");
    if (!(lambda > 0)) throw std::invalid_argument("conjugate gradient needs a positive ridge term");
    if (options.maxIterations < 0 || !(options.tolerance >= 0))
        throw std::invalid_argument("conjugate gradient: bad tolerance or iteration cap");
    torch::NoGradGuard noGrad;
    RowConjugateGradientResult result;
    if (keep.size(0) == 0) return result;

    const auto m = keep.to(h.dtype());
    const auto apply = [&](const torch::Tensor& p) { return (p.mm(h) + lambda * p) * m; };
    // Jacobi: the kept diagonal of H + lambda I; 1 elsewhere, where every vector is zero anyway.
    const auto inverseDiagonal = torch::where(keep, 1.0 / (h.diagonal() + lambda).unsqueeze(0), torch::ones_like(m));

    auto x = rows.to(h.dtype()) * m;
    const auto b = rhs.to(h.dtype()) * m;
    auto r = b - apply(x);
    auto z = r * inverseDiagonal;
    auto p = z.clone();
    auto rz = rowDot(r, z);
    // The residual of the diagonally scaled system, ||D^-1/2 r|| = sqrt(r.z): a plain ||r|| would
    // not see the error in a coordinate whose diagonal is only the tiny ridge (an input that is
    // always zero). A row with g_S = 0 (solution 0) is measured against its starting residual.
    auto scale = rowDot(b, b * inverseDiagonal).sqrt();
    scale = torch::where(scale > 0, scale, rz.sqrt());
    const auto limit = options.tolerance * scale;

    auto residual = rz.sqrt();
    auto active = residual > limit;
    int64_t iteration = 0;
    while (iteration < options.maxIterations && active.any().item<bool>()) {
        const auto ap = apply(p);
        const auto pap = rowDot(p, ap);
        const auto usable = active & (pap > 0);
        const auto alpha = torch::where(usable, rz / torch::where(usable, pap, torch::ones_like(pap)), torch::zeros_like(pap));
        x.addcmul_(alpha.unsqueeze(1), p);
        r.addcmul_(alpha.unsqueeze(1), ap, -1);
        z = r * inverseDiagonal;
        const auto rzNext = rowDot(r, z);
        const auto beta = torch::where(usable, rzNext / torch::where(usable, rz, torch::ones_like(rz)), torch::zeros_like(rz));
        p = z + beta.unsqueeze(1) * p;
        rz = torch::where(usable, rzNext, rz);
        residual = rz.sqrt();
        active = usable & (residual > limit);
        ++iteration;
    }

    const auto relative = residual / torch::where(scale > 0, scale, torch::ones_like(scale));
    result.iterations = iteration;
    result.maxRelativeResidual = relative.max().item<double>();
    result.rowsConverged = (residual <= limit).sum().item<int64_t>();
    rows.copy_(x.to(rows.dtype()));
    return result;
}

} // namespace srigl::nm
