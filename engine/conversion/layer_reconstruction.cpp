// The rows of a layer share the calibration inputs, so the Gram matrix X^T X and X^T Y are formed
// once (in double) and each row only gathers its kept sub-block: a small symmetric solve per row, or,
// for rows keeping many inputs, conjugate gradient on the whole matrix (row_conjugate_gradient.hpp).
#include "engine/conversion/layer_reconstruction.hpp"

#include <algorithm>
#include <stdexcept>

namespace srigl::nm {

namespace {

void checkShapes(const torch::Tensor& weight, const torch::Tensor& mask, const torch::Tensor& bias,
                 const torch::Tensor& inputs, const torch::Tensor& targets) {
    if (weight.dim() != 2 || !mask.sizes().equals(weight.sizes()))
        throw std::invalid_argument("reconstruction needs a [out, in] weight and a mask of the same shape");
    if (inputs.dim() != 2 || inputs.size(1) != weight.size(1))
        throw std::invalid_argument("calibration inputs do not match the layer's fan-in");
    if (targets.dim() != 2 || targets.size(0) != inputs.size(0) || targets.size(1) != weight.size(0))
        throw std::invalid_argument("calibration targets do not match the layer's outputs");
    if (inputs.size(0) == 0) throw std::invalid_argument("the calibration set is empty");
    if (bias.defined() && bias.numel() != weight.size(0)) throw std::invalid_argument("bias does not match the layer");
}

// Rows' errors from the sufficient statistics: ||X a - y||^2 = a^T H a - 2 g.a + y.y, with the
// augmented row a = [w, b] and H, g built from the augmented inputs [X, 1].
torch::Tensor rowErrors(const torch::Tensor& rows, const torch::Tensor& h, const torch::Tensor& g,
                        const torch::Tensor& yy) {
    return (rows.mm(h) * rows).sum(1) - 2 * (g * rows).sum(1) + yy;
}

// About 256 MB of double [rows, k, k] blocks per batched solve.
constexpr int64_t kGatherBudget = int64_t{32} << 20;
// Doubles per [rows, in'] matrix of a conjugate-gradient block (32 MB; it keeps about eight).
constexpr int64_t kIterativeBudget = int64_t{4} << 20;

} // namespace

void ReconstructionStatistics::add(const torch::Tensor& inputs, const torch::Tensor& targets) {
    if (inputs.dim() != 2 || targets.dim() != 2 || inputs.size(0) != targets.size(0))
        throw std::invalid_argument("reconstruction statistics need inputs [S, in] and targets [S, out]");
    torch::NoGradGuard noGrad;
    auto x = inputs.to(torch::kCPU, torch::kDouble);
    if (withBias) x = torch::cat({x, torch::ones({x.size(0), 1}, x.options())}, 1);
    const auto y = targets.to(torch::kCPU, torch::kDouble);
    if (!h.defined()) {
        h = torch::zeros({x.size(1), x.size(1)}, x.options());
        g = torch::zeros({y.size(1), x.size(1)}, x.options());
        yy = torch::zeros({y.size(1)}, x.options());
    } else if (h.size(0) != x.size(1) || g.size(0) != y.size(1)) {
        throw std::invalid_argument("reconstruction statistics: a batch does not match the earlier ones");
    }
    h.addmm_(x.t(), x);
    g.addmm_(y.t(), x);
    yy.add_(y.pow(2).sum(0));
    samples += x.size(0);
}

double reconstructionError(const torch::Tensor& weight, const torch::Tensor& mask, const torch::Tensor& bias,
                           const torch::Tensor& inputs, const torch::Tensor& targets) {
    checkShapes(weight, mask, bias, inputs, targets);
    torch::NoGradGuard noGrad;
    auto out = inputs.to(torch::kDouble).mm((weight * mask).to(torch::kDouble).t());
    if (bias.defined()) out = out + bias.to(torch::kDouble);
    return (out - targets.to(torch::kDouble)).pow(2).sum().item<double>();
}

ReconstructionResult reconstructLinear(torch::Tensor& weight, const torch::Tensor& mask, torch::Tensor& bias,
                                       const torch::Tensor& inputs, const torch::Tensor& targets,
                                       const ReconstructionOptions& options) {
    checkShapes(weight, mask, bias, inputs, targets);
    ReconstructionStatistics stats(bias.defined());
    stats.add(inputs, targets);
    return reconstructFromStatistics(weight, mask, bias, stats, options);
}

ReconstructionResult reconstructFromStatistics(torch::Tensor& weight, const torch::Tensor& mask, torch::Tensor& bias,
                                               const ReconstructionStatistics& stats,
                                               const ReconstructionOptions& options) {
    if (!stats.h.defined() || stats.samples == 0) throw std::invalid_argument("the calibration set is empty");
    if (weight.dim() < 2 || !mask.sizes().equals(weight.sizes()))
        throw std::invalid_argument("reconstruction needs a weight and a mask of the same shape");
    if (stats.withBias != bias.defined())
        throw std::invalid_argument("reconstruction statistics and layer disagree on the bias");
    const int64_t out = weight.size(0), in = weight.numel() / out;
    const int64_t cols = in + (stats.withBias ? 1 : 0);
    if (stats.h.size(0) != cols || stats.g.size(0) != out)
        throw std::invalid_argument("reconstruction statistics do not match the layer's shape");
    if (stats.withBias && bias.numel() != out) throw std::invalid_argument("bias does not match the layer");
    torch::NoGradGuard noGrad;
    const bool withBias = stats.withBias;
    const auto& h = stats.h;
    const auto& g = stats.g;
    const auto& yy = stats.yy;
    // The floor keeps every normal matrix positive definite also when the ridge term is zero: inputs
    // that are all zero (a layer behind dead ReLUs) or damping 0 on rank-deficient data. 1e-12 of
    // the largest input energy moves a solution far less than float precision does.
    double lambda = std::max(options.damping * h.diagonal().slice(0, 0, in).mean().item<double>(),
                             1e-12 * h.diagonal().max().item<double>());
    if (!(lambda > 0)) lambda = 1.0; // every input is zero and there is no bias: any ridge gives w = 0

    auto keep = mask.reshape({out, in}).to(torch::kCPU, torch::kBool);
    if (withBias) keep = torch::cat({keep, torch::ones({out, 1}, keep.options())}, 1);
    auto oldRows = (weight * mask).reshape({out, in}).to(torch::kCPU, torch::kDouble);
    if (withBias) oldRows = torch::cat({oldRows, bias.to(torch::kCPU, torch::kDouble).view({out, 1})}, 1);
    auto newRows = oldRows.clone();
    ReconstructionResult result;

    // Rows with the same number of kept entries are solved together (every row, for N:M masks).
    const auto counts = keep.sum(1);
    const auto distinct = std::get<0>(torch::_unique(counts));
    for (int64_t c = 0; c < distinct.numel(); ++c) {
        const int64_t k = distinct[c].item<int64_t>();
        if (k == 0 || k > options.maxDirect) continue;
        const auto rows = (counts == k).nonzero().view({-1});
        const int64_t chunk = std::clamp<int64_t>(kGatherBudget / (k * k), 1, std::max<int64_t>(1, options.rowChunk));
        for (int64_t start = 0; start < rows.numel(); start += chunk) {
            const auto part = rows.slice(0, start, std::min(rows.numel(), start + chunk));
            const int64_t r = part.numel();
            // nonzero() lists coordinates row-major, so each row's kept columns come out contiguous.
            const auto colIdx = keep.index_select(0, part).nonzero().select(1, 1).view({r, k});
            auto a = h.index({colIdx.unsqueeze(2), colIdx.unsqueeze(1)}); // [r, k, k]
            a = a + lambda * torch::eye(k, a.options());
            const auto b = g.index_select(0, part).gather(1, colIdx).unsqueeze(2); // [r, k, 1]
            const auto solved = at::linalg_solve(a, b).squeeze(2);
            auto target = torch::zeros({r, newRows.size(1)}, newRows.options());
            target.scatter_(1, colIdx, solved);
            newRows.index_copy_(0, part, target);
        }
    }

    // Larger rows, whatever their k, share conjugate-gradient blocks: the cost is one GEMM with the
    // whole Gram matrix per iteration, so only the block's height is bounded (by memory).
    const auto large = (counts > options.maxDirect).nonzero().view({-1});
    result.rowsIterative = large.numel();
    const int64_t block = std::max<int64_t>(1, kIterativeBudget / cols);
    for (int64_t start = 0; start < large.numel(); start += block) {
        const auto part = large.slice(0, start, std::min(large.numel(), start + block));
        auto solved = oldRows.index_select(0, part); // warm start: the masked (and absorbed) weights
        const auto cg = solveRowsByConjugateGradient(h, keep.index_select(0, part), g.index_select(0, part), lambda,
                                                     solved, options.iterative);
        result.iterations = std::max(result.iterations, cg.iterations);
        result.maxRelativeResidual = std::max(result.maxRelativeResidual, cg.maxRelativeResidual);
        newRows.index_copy_(0, part, solved);
    }

    const auto before = rowErrors(oldRows, h, g, yy);
    const auto after = rowErrors(newRows, h, g, yy);
    const auto better = (after <= before) & torch::isfinite(after);
    const auto chosen = torch::where(better.unsqueeze(1), newRows, oldRows);

    result.errorBefore = before.sum().item<double>();
    result.errorAfter = torch::where(better, after, before).sum().item<double>();
    result.rowsUnchanged = out - better.sum().item<int64_t>();
    weight.copy_(chosen.slice(1, 0, in).to(weight.dtype()).reshape(weight.sizes()));
    if (withBias) bias.copy_(chosen.select(1, in).to(bias.dtype()));
    return result;
}

} // namespace srigl::nm
