// What a convolution of a model receives: the engine's models run their convolutions inside
// features() with pooling, batch norms and residual additions between them, so the input of a
// layer is captured by the layer itself during one forward pass (SparseConv2dImpl::captureInput).
#pragma once

#include "engine/models/sparse_model.hpp"

#include <vector>

namespace srigl::nm {

// The input of each layer (SparseConv2d; others give an undefined tensor) when the model computes
// `batch`, in the model's current mode, without gradients: the returned tensors are detached and
// the layers are left as they were. A layer that took no part in the forward pass gives an
// undefined tensor.
std::vector<torch::Tensor> convolutionInputs(SparseModelImpl& model, const torch::Tensor& batch,
                                             const std::vector<SparseLayer*>& layers);

} // namespace srigl::nm
