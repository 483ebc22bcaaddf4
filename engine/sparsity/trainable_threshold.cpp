// The thresholded mask and its long-tailed straight-through estimator.
#include "engine/sparsity/trainable_threshold.hpp"

#include "engine/kernels/condensed_kernels.hpp"

#include <algorithm>

#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

// One entry of the fused backward: gw = g * step(|w| - t) + g * w * d(|w| - t) * sign(w); returns
// g * w * d(|w| - t), whose row sum is minus the threshold's gradient.
inline float thresholdEntryBackward(float wj, float gj, float t, float& gwj) {
    const float x = std::fabs(wj) - t;
    const float a = std::fabs(x);
    const float d = a <= 1.0f ? std::max(2.0f - 4.0f * a, 0.4f) : 0.0f; // stepEstimatorDerivative
    const float throughMask = gj * wj * d;                               // d/d(|W| - t)
    const float sign = static_cast<float>(wj > 0.0f) - static_cast<float>(wj < 0.0f);
    gwj = (x > 0.0f ? gj : 0.0f) + throughMask * sign;
    return throughMask;
}

constexpr int64_t kRowLanes = 8;

// A row in eight interleaved partial sums (lane l takes entries l, l + 8, ...), added in a fixed
// order: the AVX2 row below computes exactly the same sums, so results do not depend on the CPU.
float thresholdRowBackwardPortable(const float* w, const float* g, float t, float* gw, int64_t n) {
    float partial[kRowLanes] = {};
    int64_t j = 0;
    for (; j + kRowLanes <= n; j += kRowLanes)
        for (int64_t l = 0; l < kRowLanes; ++l) partial[l] += thresholdEntryBackward(w[j + l], g[j + l], t, gw[j + l]);
    float sum = 0.0f;
    for (; j < n; ++j) sum += thresholdEntryBackward(w[j], g[j], t, gw[j]);
    for (int64_t l = 0; l < kRowLanes; ++l) sum += partial[l];
    return sum;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) float thresholdRowBackwardAvx2(const float* w, const float* g, float t, float* gw,
                                                               int64_t n) {
    const __m256 signBit = _mm256_set1_ps(-0.0f), zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), floorD = _mm256_set1_ps(0.4f);
    const __m256 tv = _mm256_set1_ps(t);
    __m256 partial = zero;
    int64_t j = 0;
    for (; j + kRowLanes <= n; j += kRowLanes) {
        const __m256 wv = _mm256_loadu_ps(w + j), gv = _mm256_loadu_ps(g + j);
        const __m256 x = _mm256_sub_ps(_mm256_andnot_ps(signBit, wv), tv);
        const __m256 a = _mm256_andnot_ps(signBit, x);
        const __m256 d = _mm256_and_ps(_mm256_max_ps(_mm256_sub_ps(two, _mm256_mul_ps(four, a)), floorD),
                                       _mm256_cmp_ps(a, one, _CMP_LE_OQ));
        const __m256 through = _mm256_mul_ps(_mm256_mul_ps(gv, wv), d);
        const __m256 sign = _mm256_sub_ps(_mm256_and_ps(_mm256_cmp_ps(wv, zero, _CMP_GT_OQ), one),
                                          _mm256_and_ps(_mm256_cmp_ps(wv, zero, _CMP_LT_OQ), one));
        const __m256 passed = _mm256_and_ps(gv, _mm256_cmp_ps(x, zero, _CMP_GT_OQ));
        _mm256_storeu_ps(gw + j, _mm256_add_ps(passed, _mm256_mul_ps(through, sign)));
        partial = _mm256_add_ps(partial, through);
    }
    float sum = 0.0f;
    for (; j < n; ++j) sum += thresholdEntryBackward(w[j], g[j], t, gw[j]);
    alignas(32) float lanes[kRowLanes];
    _mm256_store_ps(lanes, partial);
    for (int64_t l = 0; l < kRowLanes; ++l) sum += lanes[l];
    return sum;
}

#endif

using RowBackward = float (*)(const float*, const float*, float, float*, int64_t);

// The engine's instruction-set choice (SRIGL_KERNEL_ISA=portable forces the portable row).
RowBackward rowBackwardForThisCpu() {
#if defined(__x86_64__)
    if (kernels::detectIsa() != kernels::Isa::Portable) return thresholdRowBackwardAvx2;
#endif
    return thresholdRowBackwardPortable;
}

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
        const RowBackward row = rowBackwardForThisCpu();
        for (int64_t r = 0; r < rows; ++r) gt[r] = -row(w + r * cols, g + r * cols, t[r], gw + r * cols, cols);
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
    if (!thresholdsCollapsed(kept, weight.numel(), floor)) return false;
    threshold.zero_();
    return true;
}

bool thresholdsCollapsed(int64_t kept, int64_t total, double floor) {
    return static_cast<double>(kept) <= floor * static_cast<double>(total);
}

double thresholdResetFloor(double targetDensity) {
    return targetDensity > 0 ? std::min(kThresholdResetKeep, 0.1 * targetDensity) : kThresholdResetKeep;
}

} // namespace srigl
