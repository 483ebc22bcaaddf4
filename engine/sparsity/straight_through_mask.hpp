// The straight-through masked weight of the N:M methods (SR-STE, docs/algorithms.md): the value is
// W * M, and the gradient of that product reaches the dense W unchanged (d/dW = identity), so pruned
// weights keep learning and can win their group back when the mask is recomputed.
#pragma once

#include <torch/torch.h>

namespace srigl {

// W * maskFactor (maskFactor: 0/1 of W's dtype, broadcastable to W). With autograd recording, one
// multiplication forward and nothing backward: the incoming gradient is W's gradient as it is.
// Same value and the same gradient as W + (W * M - W).detach(), which needs three elementwise
// passes forward and keeps M alive for a backward of its own.
torch::Tensor straightThroughMask(const torch::Tensor& weight, const torch::Tensor& maskFactor);

} // namespace srigl
