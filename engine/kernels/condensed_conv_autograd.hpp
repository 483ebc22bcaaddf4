// A condensed constant fan-in Conv2d (any stride) that autograd can train through: the direct kernels of
// condensed_conv.hpp for float32 on the CPU; unfold plus condensedLinear (LibTorch ops) for every other
// dtype or device, so gradient checks in double run the same arithmetic.
#pragma once

#include "engine/kernels/condensed_kernels.hpp"

#include <torch/torch.h>

namespace srigl {

// y [batch, rows, H', W'] = conv2d(x, W * M, bias, stride, padding) where row r of the condensed
// layer keeps the taps indices[r, j] (unfold order: c * kh * kw + dy * kw + dx) with weights
// values[r, j]. x: [batch, channels, H, W]; values [rows, k]; indices [rows, k] int16, int32 or int64 in
// [0, channels * kh * kw); bias [rows] or undefined. Gradients flow to x, values and bias. Throws
// std::invalid_argument for bad shapes, dtypes or indices.
torch::Tensor condensedConv2d(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias, int64_t kernelH, int64_t kernelW, int64_t padding,
                              int64_t stride = 1);
torch::Tensor condensedConv2d(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias, int64_t kernelH, int64_t kernelW, int64_t padding,
                              int64_t stride, kernels::Isa isa, int threads = 0);
// Stride 1 on a chosen instruction set.
torch::Tensor condensedConv2d(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias, int64_t kernelH, int64_t kernelW, int64_t padding,
                              kernels::Isa isa, int threads = 0);

} // namespace srigl
