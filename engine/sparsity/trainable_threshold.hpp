// Dynamic Sparse Training with trainable masked layers (Liu, Xu, Shi, Cheung, So, ICLR 2020;
// docs/algorithms.md, "Trainable thresholds"): a threshold per output neuron, the mask
// step(|W| - t) recomputed in every forward pass, and the paper's long-tailed estimator as the
// step's gradient, so both W and t learn through the mask.
#pragma once

#include <torch/torch.h>

#include <string>

namespace srigl {

bool isTrainableThreshold(const std::string& method);

// The long-tailed estimator of the unit step's derivative: 2 - 4|x| for |x| <= 0.4, 0.4 for
// 0.4 < |x| <= 1, 0 beyond.
torch::Tensor stepEstimatorDerivative(const torch::Tensor& x);

// 1 where x > 0, else 0 (x's dtype); its backward is the incoming gradient times
// stepEstimatorDerivative(x).
torch::Tensor binaryStep(const torch::Tensor& x);

// The threshold of each output row broadcast against a weight of any shape [out, ...].
torch::Tensor rowThreshold(const torch::Tensor& threshold, const torch::Tensor& weight);

// W * step(|W| - t): the weight a thresholded layer computes with. With autograd recording, W gets
// the task gradient through the product (mask times incoming gradient) and through the mask
// (sign(W) times the estimator), t gets the estimator's gradient with a minus sign. float32 CPU
// tensors take a fused forward and backward; other dtypes and devices the composite of LibTorch ops.
torch::Tensor thresholdMaskedWeight(const torch::Tensor& weight, const torch::Tensor& threshold);

// The mask of the current weight and thresholds (bool, W's shape), without autograd.
torch::Tensor thresholdMask(const torch::Tensor& weight, const torch::Tensor& threshold);

// The sparsity regulariser alpha * sum(exp(-t)) of one layer's thresholds (a scalar with autograd).
torch::Tensor thresholdPenalty(const torch::Tensor& threshold, double alpha);

constexpr double kThresholdResetKeep = 0.01;
// Whether a layer keeping `kept` of its `total` weights has collapsed (kept <= floor * total).
bool thresholdsCollapsed(int64_t kept, int64_t total, double floor);
// The paper's guard, for training only: a layer whose mask keeps `floor` (the paper's 1%) or less
// of its weights gets all its thresholds set to 0. Returns whether it reset.
bool resetCollapsedThresholds(const torch::Tensor& weight, torch::Tensor& threshold,
                              double floor = kThresholdResetKeep);

// The guard's floor for a run: the paper's 1%, or, when tt_target_density steers the density (our
// extension), a tenth of that target when this is lower, so that a target near 1% is reachable
// (at 1% the paper's floor resets the largest layer to dense whenever it gets there).
double thresholdResetFloor(double targetDensity);

} // namespace srigl
