// Batch-norm re-estimation: after a model's weights change, its running statistics describe
// activations it no longer produces; recompute them from calibration batches.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace srigl::nm {

// Number of BatchNorm1d/2d modules in the model.
int countBatchNorms(torch::nn::Module& model);

// Resets every batch norm's running statistics and replaces them by the average over the batches of
// each batch's statistics (cumulative average, as momentum = None does), with `forward` run in
// training mode and without gradients. The model is left in eval mode, momenta as they were.
// Returns the number of batch norms re-estimated. Throws std::invalid_argument without batches.
int reestimateBatchNorm(torch::nn::Module& model, const std::vector<torch::Tensor>& batches,
                        const std::function<torch::Tensor(const torch::Tensor&)>& forward);

} // namespace srigl::nm
