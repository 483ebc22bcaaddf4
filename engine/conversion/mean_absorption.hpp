// Mean absorption after pruning: the pruned weights' contribution to a layer's output, averaged over
// calibration inputs, moves into the bias, so the layer's mean output on that data is unchanged.
#pragma once

#include <torch/torch.h>

namespace srigl::nm {

// bias += (dense - dense * mask) @ mean(inputs). dense [out, in] (the weight before pruning), mask
// bool [out, in], inputs [S, in] with S > 0; bias [out] is updated in place.
void absorbPrunedMean(torch::Tensor& bias, const torch::Tensor& dense, const torch::Tensor& mask,
                      const torch::Tensor& inputs);

} // namespace srigl::nm
