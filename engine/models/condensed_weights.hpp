// The condensed form of a constant fan-in layer while it trains (sparse_compute=condensed): values and
// indices [out, k] replace the dense weight and mask, so ordinary steps never touch [out, fan_in].
// Conversions to and from the dense form are for mask updates, checkpoints and snapshots only.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace srigl {

struct CondensedWeights {
    // float [out, k]: the parameter the optimizer updates. Row r computes
    // sum_j values[r, j] * x[indices[r, j]]; an ablated row holds zeros and its gradient is zeroed.
    torch::Tensor values;
    // int16 when the fan-in fits (half the index traffic of int32), else int32; [out, k], ascending per
    // row (an ablated row lists inputs 0..k-1 with zero values).
    torch::Tensor indices;
    // float [out, 1]: 1 for active rows, 0 for ablated ones; only used when ablated > 0.
    torch::Tensor alive;
    int64_t ablated = 0;
    int64_t fanIn = 0;

    // Growth needs the dense gradient G = sum_s gy_s^T x_s over the accumulation window before an
    // update. While `capture` is set, the forward keeps its 2-D input x_s and a hook keeps gy_s.
    bool capture = false;
    std::vector<torch::Tensor> inputs;
    std::vector<torch::Tensor> gradOutputs;
    // Convolutions capture G itself instead, [out, fan_in]: LibTorch's convolution backward for the
    // weight runs in the hook, where keeping unfolded patches would cost kernel^2 / stride^2 copies of
    // every input until the backward. The sum over the window so far, and the last step's own G (the
    // gradient a grown connection gets at the update step).
    torch::Tensor capturedGrad;
    torch::Tensor lastGrad;

    int64_t rows() const { return values.size(0); }
    int64_t k() const { return values.size(1); }
};

// The condensed form of a dense [out, fan_in] weight and mask in which every row keeps either exactly
// k inputs or none (ablated). Throws std::invalid_argument for any other mask.
CondensedWeights condenseLayer(const torch::Tensor& weight2d, const torch::Tensor& mask2d);

// A layer built directly in the condensed form (no dense weight ever exists): values [out, k] and
// ascending indices [out, k] (any integer type) into [0, fan_in), every row active. Throws
// std::invalid_argument for mismatched shapes or k < 1.
CondensedWeights makeCondensed(const torch::Tensor& values, const torch::Tensor& indices, int64_t fanIn);

// A tensor in the condensed layout ([out, k]: values or an optimizer state) spread back to the dense
// [out, fan_in] layout, zero outside the mask.
torch::Tensor expandCondensed(const CondensedWeights& layer, const torch::Tensor& condensed);
// The dense bool mask [out, fan_in].
torch::Tensor expandMask(const CondensedWeights& layer);
// The entries of a dense [out, fan_in] tensor at the layer's kept positions, [out, k] (zero in ablated rows).
torch::Tensor gatherCondensed(const CondensedWeights& layer, const torch::Tensor& dense);

// Sum over the captured steps of gy^T x (or of the captured G of a convolution): the dense gradient of
// the layer's [out, fan_in] weight, the same quantity the masked-dense path accumulates from weight.grad.
torch::Tensor denseGradient(const CondensedWeights& layer);

// y = x W^T + b through the condensed kernels (x: [rows, fan_in]), keeping what growth needs while
// `capture` is set. `layer` is shared with the hook that receives gy.
torch::Tensor condensedMatmul(const std::shared_ptr<CondensedWeights>& layer, const torch::Tensor& x2d,
                              const torch::Tensor& bias);

// The convolution (any stride) of x [batch, channels, H, W] by a condensed Conv2d layer (taps in
// unfold's order) through the direct kernels, adding the step's dense weight gradient to capturedGrad
// (and setting lastGrad) while `capture` is set.
torch::Tensor condensedConvolution(const std::shared_ptr<CondensedWeights>& layer, const torch::Tensor& x,
                                   const torch::Tensor& bias, int64_t kernel, int64_t padding, int64_t stride = 1);

} // namespace srigl
