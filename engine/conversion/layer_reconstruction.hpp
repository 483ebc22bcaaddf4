// Per-layer reconstruction after pruning: refit the kept weights (and the bias) of a layer so that
// its output on calibration inputs matches a target (the original layer's output), by least squares
// solved independently for every output row over that row's kept inputs. A convolution is the same
// problem on its unfolded input patches (engine/conversion/conv_reconstruction.hpp).
#pragma once

#include "engine/conversion/row_conjugate_gradient.hpp"

#include <torch/torch.h>

#include <cstdint>

namespace srigl::nm {

struct ReconstructionOptions {
    // Ridge term added to the diagonal of each row's normal equations, relative to the mean input
    // energy: calibration inputs are often rank-deficient (MNIST's border pixels are always zero).
    double damping = 1e-4;
    int64_t rowChunk = 64; // rows solved in one batched call (bounds the [rows, k, k] gather)
    // Rows keeping at most this many inputs (bias included) are solved directly (a gathered [k, k]
    // block per row, k^3); rows keeping more by conjugate gradient (row_conjugate_gradient.hpp),
    // whose memory does not grow with k.
    int64_t maxDirect = 1536;
    RowConjugateGradientOptions iterative;
};

// The sufficient statistics of a layer's least-squares problem, accumulated over calibration
// batches so that no batch (or unfolded convolution input) has to be kept: with the augmented
// inputs a = [x, 1] (the 1 only when the layer has a bias), h = sum a a^T, g = sum y a^T and
// yy = sum y^2 per output. Double precision.
struct ReconstructionStatistics {
    explicit ReconstructionStatistics(bool withBias_ = false) : withBias(withBias_) {}

    torch::Tensor h;  // [in', in']
    torch::Tensor g;  // [out, in']
    torch::Tensor yy; // [out]
    int64_t samples = 0;
    bool withBias = false;

    // inputs [S, in], targets [S, out]; the first call fixes the shapes.
    void add(const torch::Tensor& inputs, const torch::Tensor& targets);
};

struct ReconstructionResult {
    double errorBefore = 0; // sum of squared output errors on the calibration inputs
    double errorAfter = 0;
    int64_t rowsUnchanged = 0; // rows whose least-squares solution did not improve (kept as they were)
    int64_t rowsIterative = 0; // rows solved by conjugate gradient (more than maxDirect kept inputs)
    int64_t iterations = 0;    // conjugate gradient: iterations of the slowest block
    double maxRelativeResidual = 0; // conjugate gradient: largest relative residual left (RowConjugateGradientOptions)
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

// The same fit from accumulated statistics. weight and mask are viewed as [out, in] (a conv weight
// [out, in, kh, kw] as [out, in * kh * kw], the order of torch's unfold); bias must be defined
// exactly when the statistics were accumulated with a bias column. Throws std::invalid_argument
// when the statistics are empty or do not match the layer.
ReconstructionResult reconstructFromStatistics(torch::Tensor& weight, const torch::Tensor& mask, torch::Tensor& bias,
                                               const ReconstructionStatistics& statistics,
                                               const ReconstructionOptions& options = {});

} // namespace srigl::nm
