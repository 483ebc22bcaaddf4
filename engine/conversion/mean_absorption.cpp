#include "engine/conversion/mean_absorption.hpp"

#include <stdexcept>

namespace srigl::nm {

void absorbPrunedMean(torch::Tensor& bias, const torch::Tensor& dense, const torch::Tensor& mask,
                      const torch::Tensor& inputs) {
    if (!bias.defined()) throw std::invalid_argument("mean absorption needs a layer with a bias");
    if (dense.dim() != 2 || !mask.sizes().equals(dense.sizes()) || bias.numel() != dense.size(0))
        throw std::invalid_argument("mean absorption: weight, mask and bias do not match");
    if (inputs.dim() != 2 || inputs.size(1) != dense.size(1))
        throw std::invalid_argument("mean absorption: calibration inputs do not match the layer's fan-in");
    if (inputs.size(0) == 0) throw std::invalid_argument("the calibration set is empty");
    torch::NoGradGuard noGrad;
    const auto pruned = (dense * mask.logical_not()).to(torch::kDouble);
    const auto mean = inputs.to(torch::kDouble).mean(0);
    bias.add_(pruned.mv(mean).to(bias.dtype()));
}

} // namespace srigl::nm
