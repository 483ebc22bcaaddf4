// The thresholded mask and its long-tailed straight-through estimator.
#include "engine/sparsity/trainable_threshold.hpp"

#include <algorithm>

namespace srigl {
namespace {

// The reference's BinaryStep: a 0/1 forward, and a backward that is the estimator's derivative at
// the input (the true derivative is 0 almost everywhere, which would teach neither W nor t).
struct BinaryStepFunction : torch::autograd::Function<BinaryStepFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
        ctx->save_for_backward({x});
        return (x > 0).to(x.scalar_type());
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs) {
        const auto x = ctx->get_saved_variables()[0];
        return {gradOutputs[0] * stepEstimatorDerivative(x)};
    }
};

} // namespace

bool isTrainableThreshold(const std::string& method) { return method == "trainable_threshold"; }

torch::Tensor stepEstimatorDerivative(const torch::Tensor& x) {
    // 2 - 4|x| falls to 0.4 exactly at |x| = 0.4, so the two inner pieces are one clamp.
    const auto a = x.abs();
    return (2.0 - 4.0 * a).clamp_min_(0.4).mul_(a <= 1.0);
}

torch::Tensor binaryStep(const torch::Tensor& x) {
    if (!torch::GradMode::is_enabled() || !x.requires_grad()) return (x > 0).to(x.scalar_type());
    return BinaryStepFunction::apply(x);
}

torch::Tensor rowThreshold(const torch::Tensor& threshold, const torch::Tensor& weight) {
    std::vector<int64_t> shape(static_cast<size_t>(weight.dim()), 1);
    shape[0] = weight.size(0);
    return threshold.view(shape);
}

torch::Tensor thresholdMaskedWeight(const torch::Tensor& weight, const torch::Tensor& threshold) {
    return weight * binaryStep(weight.abs() - rowThreshold(threshold, weight));
}

torch::Tensor thresholdMask(const torch::Tensor& weight, const torch::Tensor& threshold) {
    torch::NoGradGuard noGrad;
    return weight.detach().abs() > rowThreshold(threshold.detach(), weight);
}

torch::Tensor thresholdPenalty(const torch::Tensor& threshold, double alpha) {
    return alpha * torch::exp(-threshold).sum();
}

bool resetCollapsedThresholds(const torch::Tensor& weight, torch::Tensor& threshold, double floor) {
    torch::NoGradGuard noGrad;
    const int64_t kept = thresholdMask(weight, threshold).sum().item<int64_t>();
    if (static_cast<double>(kept) > floor * static_cast<double>(weight.numel())) return false;
    threshold.zero_();
    return true;
}

double thresholdResetFloor(double targetDensity) {
    return targetDensity > 0 ? std::min(kThresholdResetKeep, 0.1 * targetDensity) : kThresholdResetKeep;
}

} // namespace srigl
