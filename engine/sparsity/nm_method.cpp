// The N:M training methods' masks, on top of engine/nm.
#include "engine/sparsity/nm_method.hpp"

#include "engine/nm/nm_mask.hpp"
#include "engine/nm/transposable_mask.hpp"

namespace srigl {

bool isNmMethod(const std::string& method) {
    return method == "nm_ste" || method == "srste" || method == "nm_transposable";
}

NmMethod NmMethod::fromConfig(const RunConfig& config) {
    NmMethod m;
    m.pattern = nm::parseNm(config.nm);
    m.transposable = config.method == "nm_transposable";
    m.exactSolver = config.nm_solver == "exact";
    m.threads = static_cast<int>(config.threads);
    return m;
}

torch::Tensor NmMethod::mask(const torch::Tensor& weight) const {
    torch::NoGradGuard noGrad;
    auto w = weight.detach();
    if (!transposable) return nm::nmMask(w, pattern);
    nm::TransposableOptions options;
    options.solver = exactSolver ? nm::TransposableSolver::Exact : nm::TransposableSolver::GreedyRepair;
    options.threads = threads;
    return nm::transposableMask(w, pattern, options).mask;
}

bool NmMethod::valid(const torch::Tensor& mask) const {
    return transposable ? nm::transposableValid(mask, pattern) : nm::nmValid(mask, pattern);
}

} // namespace srigl
