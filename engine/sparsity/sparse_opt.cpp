// SparseOpt's per-neuron scale.
#include "engine/sparsity/sparse_opt.hpp"

namespace srigl {
namespace {

// sqrt(d_i / mean(d)) with 0 where the layer keeps nothing; exactly 1 when every neuron has the
// same density (constant fan-in), where rounding in the mean could otherwise leave 1 - 1e-7.
torch::Tensor scaleOfDensities(const torch::Tensor& density) {
    if (density.numel() == 0 || (density.max() == density.min()).item<bool>()) return torch::ones_like(density);
    const double layer = density.mean().item<double>();
    if (layer <= 0.0) return torch::zeros_like(density);
    return (density / layer).sqrt_();
}

} // namespace

torch::Tensor sparseOptScale(const torch::Tensor& mask) {
    return scaleOfDensities(mask.reshape({mask.size(0), -1}).to(torch::kFloat).mean(1));
}

torch::Tensor sparseOptScaleCondensed(const torch::Tensor& alive) {
    // Every alive row holds k of fan_in weights: its density over the layer's is alive_i / mean(alive).
    return scaleOfDensities(alive.reshape({alive.size(0)}).to(torch::kFloat));
}

void applySparseOpt(torch::Tensor& grad, const torch::Tensor& scale) {
    if (!grad.defined()) return;
    grad.view({grad.size(0), -1}).mul_(scale.to(grad.device(), grad.scalar_type()).unsqueeze(1));
}

} // namespace srigl
