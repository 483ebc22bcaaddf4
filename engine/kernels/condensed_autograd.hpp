// A condensed constant fan-in linear layer that autograd can train through: forward and backward run our
// condensed kernels (float32 on the CPU), with a plain LibTorch fallback for every other dtype/device.
#pragma once

#include "engine/kernels/condensed_kernels.hpp"

#include <torch/torch.h>

namespace srigl {

// y[..., r] = bias[r] + sum_j values[r, j] * x[..., indices[r, j]].
// x: [..., inFeatures]; values: [rows, k] floating point, same dtype as x; indices: [rows, k] int16,
// int32 or int64, each in [0, inFeatures) (checked, one pass over the indices per call); bias: [rows] or
// undefined. Gradients flow to x, values and bias (indices get none). Float32 CPU inputs use the
// kernels (isa as condensedForward; `threads` <= 0 means the engine's count), float32 CUDA inputs our
// CUDA kernels where the build has them (engine/kernels/cuda); anything else (float64 for gradient checks, a
// build without CUDA kernels) the same arithmetic in LibTorch ops. The kernels' backward is not
// itself differentiable (no double backward). Throws std::invalid_argument for bad shapes, dtypes or
// indices.
torch::Tensor condensedLinear(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias);
torch::Tensor condensedLinear(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias, kernels::Isa isa, int threads = 0);

} // namespace srigl
