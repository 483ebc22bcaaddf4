// N:M masks along the input dimension: keep the N largest |w| in every group of M consecutive
// input weights (conv: along `in` at each kernel position), and the check that a mask is N:M.
#pragma once

#include "engine/nm/nm_pattern.hpp"

#include <torch/torch.h>

namespace srigl::nm {

// Shapes whose `in` is not a multiple of M: the layer is treated as padded with zero weights that
// are pruned first, so a trailing group of r < M real weights keeps min(N, r) of them. (This is
// what padding to the hardware's group size gives, and the padded mask is valid N:M.)

// Bool mask of weight's shape (Linear [out, in] or Conv2d [out, in, kh, kw]). Any device; computed
// on the weight's device. On the CPU, equal magnitudes are broken in favour of the lower input
// index (deterministic; elsewhere the tie order is topk's).
torch::Tensor nmMask(const torch::Tensor& weight, NmPattern pattern);

// True when every full group keeps exactly N and a trailing partial group of r keeps min(N, r).
bool nmValid(const torch::Tensor& mask, int n, int m);
inline bool nmValid(const torch::Tensor& mask, NmPattern p) { return nmValid(mask, p.n, p.m); }

} // namespace srigl::nm
