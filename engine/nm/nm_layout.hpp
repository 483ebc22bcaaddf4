// How a layer's weight is laid out for N:M: groups run along the input dimension. Conv weights
// [out, in, kh, kw] are viewed as [out, kh, kw, in] (what sparse tensor cores and cuSPARSELt expect).
#pragma once

#include <torch/torch.h>

namespace srigl::nm {

// [rows, in] with groups of M consecutive columns: Linear [out, in] as is; Conv2d [out, in, kh, kw]
// as [out * kh * kw, in]. Always contiguous (a copy for convolutions).
torch::Tensor toGroupRows(const torch::Tensor& t);
// Inverse of toGroupRows for a tensor of the given original shape.
torch::Tensor fromGroupRows(const torch::Tensor& rows, c10::IntArrayRef shape);

// [planes, out, in] for transposable tiles: Linear [1, out, in]; Conv2d one [out, in] matrix per
// kernel position (kh * kw planes). Contiguous.
torch::Tensor toPlanes(const torch::Tensor& t);
torch::Tensor fromPlanes(const torch::Tensor& planes, c10::IntArrayRef shape);

} // namespace srigl::nm
