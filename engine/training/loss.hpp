// Cross-entropy with optional label smoothing (as torch.nn.CrossEntropyLoss(label_smoothing=eps)).
#pragma once

#include <torch/torch.h>

namespace srigl {

torch::Tensor crossEntropy(const torch::Tensor& logits, const torch::Tensor& targets, double labelSmoothing = 0.0);

} // namespace srigl
