// The thresholded mask and its long-tailed straight-through estimator.
#include "engine/sparsity/trainable_threshold.hpp"

#include <algorithm>
#include <cmath>

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

// W * step(|W| - t) for float32 CPU weights in one pass forward and one backward, instead of the
// eight LibTorch ops (and their graph) of the composite form: those cost 7 ms per step on
// LeNet-300-100 at batch 64, four times the layers' own matmuls. Same arithmetic per entry as the
// composite (step, estimator, sign), so only the order of t's row sums differs.
struct ThresholdMaskedWeightFunction : torch::autograd::Function<ThresholdMaskedWeightFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& weightIn,
                                 const torch::Tensor& thresholdIn) {
        const auto weight = weightIn.contiguous(), threshold = thresholdIn.contiguous();
        ctx->save_for_backward({weight, threshold});
        auto y = torch::empty_like(weight);
        const int64_t rows = weight.size(0), cols = rows > 0 ? weight.numel() / rows : 0;
        const float* w = weight.data_ptr<float>();
        const float* t = threshold.data_ptr<float>();
        float* out = y.data_ptr<float>();
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = r * cols; j < (r + 1) * cols; ++j) out[j] = std::fabs(w[j]) - t[r] > 0.0f ? w[j] : 0.0f;
        return y;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs) {
        const auto saved = ctx->get_saved_variables();
        const auto &weight = saved[0], &threshold = saved[1];
        const auto grad = gradOutputs[0].contiguous();
        auto gradWeight = torch::empty_like(weight);
        auto gradThreshold = torch::empty_like(threshold);
        const int64_t rows = weight.size(0), cols = rows > 0 ? weight.numel() / rows : 0;
        const float* w = weight.data_ptr<float>();
        const float* t = threshold.data_ptr<float>();
        const float* g = grad.data_ptr<float>();
        float* gw = gradWeight.data_ptr<float>();
        float* gt = gradThreshold.data_ptr<float>();
        for (int64_t r = 0; r < rows; ++r) {
            float sum = 0.0f;
            for (int64_t j = r * cols; j < (r + 1) * cols; ++j) {
                const float x = std::fabs(w[j]) - t[r];
                const float a = std::fabs(x);
                const float d = a <= 1.0f ? std::max(2.0f - 4.0f * a, 0.4f) : 0.0f; // stepEstimatorDerivative
                const float throughMask = g[j] * w[j] * d;                       // d/d(|W| - t)
                const float sign = w[j] > 0.0f ? 1.0f : (w[j] < 0.0f ? -1.0f : 0.0f);
                gw[j] = (x > 0.0f ? g[j] : 0.0f) + throughMask * sign;
                sum += throughMask;
            }
            gt[r] = -sum;
        }
        return {gradWeight, gradThreshold};
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
    const bool fused = weight.dim() >= 1 && weight.is_cpu() && threshold.is_cpu() &&
                       weight.scalar_type() == torch::kFloat && threshold.scalar_type() == torch::kFloat &&
                       threshold.numel() == weight.size(0);
    if (fused) return ThresholdMaskedWeightFunction::apply(weight, threshold);
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
