// The kernels' raw view (condensed_kernels.hpp) of a condensed layer held in tensors, for the autograd
// wrappers: values float32 [rows, k], indices int16 or int32 [rows, k], both contiguous on the CPU.
#pragma once

#include "engine/kernels/condensed_kernels.hpp"

#include <torch/torch.h>

namespace srigl::kernels {

inline CondensedView condensedViewOf(const torch::Tensor& values, const torch::Tensor& indices,
                                     const torch::Tensor& bias, int64_t inFeatures) {
    CondensedView v;
    v.values = values.data_ptr<float>();
    v.indices = indices.data_ptr();
    v.indices16 = indices.scalar_type() == torch::kShort;
    v.rows = values.size(0);
    v.k = values.size(1);
    v.inFeatures = inFeatures;
    v.bias = bias.defined() ? bias.data_ptr<float>() : nullptr;
    return v;
}

} // namespace srigl::kernels
