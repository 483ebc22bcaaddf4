// SRigL's update (docs/algorithms.md) on a layer held in the condensed form: the same rule and the
// same choices as sriglUpdateCpu, but |W| is read from the kept weights only and the dense gradient
// arrives in blocks of rows, so no [out, fan_in] tensor exists during the update (memory: one block).
#pragma once

#include "engine/sparsity/mask_update.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <functional>

namespace srigl {

// Writes rows [r0, r1) of the layer's dense gradient, row-major [r1 - r0, fan_in], into `out`.
using GradientRows = std::function<void(int64_t r0, int64_t r1, float* out)>;

struct CondensedMaskUpdate {
    torch::Tensor indices; // int64 [out, k]: the new inputs of each row, ascending (ablated rows: 0..k-1)
    torch::Tensor source;  // int64 [out, k]: the old slot of each new connection, -1 where it is new
    torch::Tensor alive;   // bool [out]
    int64_t k = 0, active = 0, ablated = 0, pruned = 0, regrown = 0;
    // How the gradient was read: whole passes over it, and rows computed for the salience guess.
    int64_t gradientPasses = 0, sampledRows = 0;
};

// values, indices: [out, k_old] (CPU; ablated rows hold zeros and are marked false in `alive`).
// The gradient is asked for in blocks of `blockRows` rows. With ablation, one pass usually does it
// all: it counts each row's salient connections against a window of |grad| guessed from a sample of
// rows (about 1/64 of the layer), checks that the window holds the layer-wide saliency threshold, and
// keeps each row's growth candidates; when the guess misses, a histogram pass and a second counting
// pass follow. Without ablation growth reads it once; when one block covers the layer it is computed
// once. Growth reads it again only when ablation raises k beyond the candidates kept per row:
// `growthCandidates` of them (-1: k_old * 1.5 + 8, as long as they take at most 1 GiB; 0: none).
// Same result as sriglUpdateCpu on the dense form, ties included (index order).
CondensedMaskUpdate sriglUpdateCondensed(const torch::Tensor& values, const torch::Tensor& indices,
                                         const torch::Tensor& alive, int64_t fanIn, const GradientRows& gradient,
                                         double dropFraction, const SriglParams& params, int64_t blockRows,
                                         int64_t growthCandidates = -1);

} // namespace srigl
