// The mask rules on one layer's [out, fan_in] tensors: initial masks, SRigL, RigL and SET updates.
// Pure functions: they return the new mask and statistics; the trainer applies them to weights and
// optimizer state. All tensors are 2-D views [out, fan_in] on the layer's device.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace srigl {

struct MaskUpdateResult {
    torch::Tensor mask; // bool [out, fan_in]
    int64_t k = 0;      // connections per active neuron (SRigL); 0 for unstructured rules
    int64_t active = 0; // neurons with at least one connection (SRigL: not ablated)
    int64_t ablated = 0;
    int64_t pruned = 0;  // active before, inactive after
    int64_t regrown = 0; // inactive before, active after
};

// Exactly k random connections in every row (k is clamped to [0, fan_in]), as ascending input indices
// int64 [out, k]; never builds an [out, fan_in] tensor. The mask below is these indices scattered.
torch::Tensor constantFanInIndices(int64_t out, int64_t fanIn, int64_t k, torch::Generator& gen);
// Exactly k random connections in every row.
torch::Tensor constantFanInMask(int64_t out, int64_t fanIn, int64_t k, torch::Generator& gen,
                                const torch::Device& device = torch::kCPU);
// `nnz` random connections anywhere in the layer.
torch::Tensor unstructuredMask(int64_t out, int64_t fanIn, int64_t nnz, torch::Generator& gen,
                               const torch::Device& device = torch::kCPU);

struct SriglParams {
    int64_t budget = 0;        // B = floor(numel * density)
    double gammaSal = 0.3;     // 0: never ablate
    bool allowAblation = true; // false for the output layer
    // Neurons (1 each) ablated whatever their salience: config ablate_unused marks those with no
    // outgoing connection in the next layer. Empty: none. Forcing stops where fewer than
    // sriglMinActive neurons would stay active.
    std::vector<uint8_t> forceAblate;
};

// Largest number of neurons SRigL may ablate before k = floor(B / active) would exceed fan_in.
int64_t sriglMinActive(int64_t budget, int64_t out, int64_t fanIn);
int64_t sriglFanIn(int64_t budget, int64_t active, int64_t fanIn);
// Adds params.forceAblate to `ablated` (when ablation is allowed), in index order, while at least
// sriglMinActive neurons stay active.
void sriglForceAblation(std::vector<uint8_t>& ablated, const SriglParams& params, int64_t fanIn);
// Ablation from each neuron's salient-connection count: the threshold gamma_sal * (budget / out),
// lowered until at least sriglMinActive neurons survive; 1 marks an ablated neuron.
std::vector<uint8_t> sriglAblatedNeurons(const std::vector<int64_t>& salientCounts, const SriglParams& params,
                                         int64_t fanIn);

// One SRigL update (docs/algorithms.md): saliency-based ablation, prune by magnitude, cut each
// neuron back to k by magnitude, grow each neuron to exactly k by dense gradient magnitude.
MaskUpdateResult sriglUpdate(const torch::Tensor& weight, const torch::Tensor& mask,
                             const torch::Tensor& denseGrad, double dropFraction, const SriglParams& params);

// The same rule written two ways: tensor operations (any device; used for CUDA tensors) and plain
// loops over CPU float arrays (one pass per step, no temporaries; used on the CPU). sriglUpdate
// picks one; tests check that both give the same masks.
MaskUpdateResult sriglUpdateTensorOps(const torch::Tensor& weight, const torch::Tensor& mask,
                                      const torch::Tensor& denseGrad, double dropFraction, const SriglParams& params);
MaskUpdateResult sriglUpdateCpu(const torch::Tensor& weight, const torch::Tensor& mask,
                                const torch::Tensor& denseGrad, double dropFraction, const SriglParams& params);

// RigL: drop the floor(nnz * f) smallest |W|, grow as many by largest |dense grad|.
MaskUpdateResult riglUpdate(const torch::Tensor& weight, const torch::Tensor& mask,
                            const torch::Tensor& denseGrad, double dropFraction);

// SET: drop as RigL, grow uniformly at random among the inactive positions.
MaskUpdateResult setUpdate(const torch::Tensor& weight, const torch::Tensor& mask, double dropFraction,
                           torch::Generator& gen);

} // namespace srigl
