// SparseOpt (docs/algorithms.md, "SparseOpt"): a per-neuron gradient scale for sparse layers,
// sqrt((1 - s_i) / (1 - s)) with s_i the sparsity of neuron i's incoming weights and s the
// layer's sparsity. Applied after the gradient is masked, before the optimizer. Every neuron of a
// constant fan-in layer without ablated neurons has the layer's density, so its scale is exactly 1.
#pragma once

#include <torch/torch.h>

namespace srigl {

// The scale of every output neuron ([out], float) from a mask of any weight shape [out, ...].
// Rows of a layer that keeps nothing get 0.
torch::Tensor sparseOptScale(const torch::Tensor& mask);
// The same for a condensed layer: k weights per alive row, none in an ablated one.
torch::Tensor sparseOptScaleCondensed(const torch::Tensor& alive);
// Multiplies each row of `grad` ([out, ...] or condensed [out, k]) by its neuron's scale, in place.
void applySparseOpt(torch::Tensor& grad, const torch::Tensor& scale);

} // namespace srigl
