// Per-layer reconstruction after pruning: refit the kept weights (and the bias) of a linear layer so
// that its output on calibration inputs matches a target (the original layer's output), by least
// squares solved independently for every output row over that row's kept inputs.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace srigl::nm {

struct ReconstructionOptions {
    // Ridge term added to the diagonal of each row's normal equations, relative to the mean input
    // energy: calibration inputs are often rank-deficient (MNIST's border pixels are always zero).
    double damping = 1e-4;
    int64_t rowChunk = 64; // rows solved in one batched call (bounds the [rows, k, k] gather)
};

struct ReconstructionResult {
    double errorBefore = 0; // sum of squared output errors on the calibration inputs
    double errorAfter = 0;
    int64_t rowsUnchanged = 0; // rows whose least-squares solution did not improve (kept as they were)
};

// Sum over the calibration set of || x W^T + b - y ||^2 with W = weight * mask. inputs [S, in],
// targets [S, out]; bias may be undefined.
double reconstructionError(const torch::Tensor& weight, const torch::Tensor& mask, const torch::Tensor& bias,
                           const torch::Tensor& inputs, const torch::Tensor& targets);

// Replaces, row by row, the kept weights (mask set) and the bias entry (when bias is defined) with
// the least-squares fit of targets from inputs; weights outside the mask become zero. A row whose
// fit would not lower its error keeps its old values, so the layer's error never increases.
// weight [out, in] float, mask bool [out, in]; both weight and bias are updated in place.
ReconstructionResult reconstructLinear(torch::Tensor& weight, const torch::Tensor& mask, torch::Tensor& bias,
                                       const torch::Tensor& inputs, const torch::Tensor& targets,
                                       const ReconstructionOptions& options = {});

} // namespace srigl::nm
