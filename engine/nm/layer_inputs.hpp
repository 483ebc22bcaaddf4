// What a convolution of a model receives: the engine's models run their convolutions inside
// features() with pooling, batch norms and residual additions between them, and LibTorch modules
// have no forward hooks, so the input of a layer is read back from the autograd graph of a forward
// pass (the tensor the convolution saved for its weight gradient).
#pragma once

#include "engine/models/sparse_model.hpp"

#include <vector>

namespace srigl::nm {

// The input of each layer (SparseConv2d; others give an undefined tensor) when the model computes
// `batch`, in the model's current mode, without gradients leaking out: the returned tensors are
// detached and the model's weights are left exactly as they were (requires_grad and the
// straight-through flag are restored). A layer that took no part in the forward pass gives an
// undefined tensor.
std::vector<torch::Tensor> convolutionInputs(SparseModelImpl& model, const torch::Tensor& batch,
                                             const std::vector<SparseLayer*>& layers);

} // namespace srigl::nm
