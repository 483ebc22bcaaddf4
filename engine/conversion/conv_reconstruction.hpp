// Per-layer reconstruction of a convolution: every output position is a linear layer applied to an
// input patch, so the fit of one output channel is the least-squares problem of a linear row over
// the unfolded patches [in * kh * kw] (engine/conversion/layer_reconstruction.hpp), restricted to the kept
// positions. The N:M groups run along `in` at each (kh, kw) ([out, kh, kw, in], nm_layout.hpp);
// the fit does not depend on that order, only on which positions the mask keeps.
#pragma once

#include "engine/models/sparse_layer.hpp"
#include "engine/conversion/layer_reconstruction.hpp"

#include <vector>

namespace srigl::nm {

// Unfolded input patches of `conv` [N * H' * W', in * kh * kw], in the column order of
// weight.view({out, -1}) and the row order of outputs permuted to [N, H', W', out].
torch::Tensor convolutionPatches(const SparseConv2dImpl& conv, const torch::Tensor& input);

// Adds one calibration batch: input [N, in, H, W] is what the layer receives now, target
// [N, out, H', W'] what the original layer produced there. Patches are unfolded a few samples at a
// time and only X^T X and Y^T X are kept, so memory stays at one [in', in'] matrix per layer.
void addConvolutionBatch(ReconstructionStatistics& statistics, const SparseConv2dImpl& conv,
                         const torch::Tensor& input, const torch::Tensor& target);

// Refits conv's kept weights (and its bias) to the targets over all batches; never raises the
// calibration error (rows that would get worse keep their values). Throws std::invalid_argument on
// mismatched or empty batches.
ReconstructionResult reconstructConvolution(SparseConv2dImpl& conv, const std::vector<torch::Tensor>& inputs,
                                            const std::vector<torch::Tensor>& targets,
                                            const ReconstructionOptions& options = {});

} // namespace srigl::nm
