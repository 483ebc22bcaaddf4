// One training step's passes over a condensed constant fan-in layer, arranged so that nothing is done
// twice: the forward transposes x once and hands the transposed blocks (xT) to the backward, the
// backward transposes gy once for both gradients, and grad_input reads the layer's transposed structure
// (ColumnLayout) which depends only on the indices, so it is built once per mask rather than per call.
// Internal to the kernels and condensed_autograd.cpp (and their tests); models include
// condensed_kernels.hpp / condensed_autograd.hpp only.
#pragma once

#include "engine/kernels/condensed_kernels.hpp"

#include <cstdint>
#include <vector>

namespace srigl::kernels {

// The layer's kept weights listed by input: for input i, entries [start[i], start[i + 1]), each with its
// row and its position r * k + j in values (rows in ascending order within an input).
struct ColumnLayout {
    int64_t rows = 0, k = 0, inFeatures = 0;
    std::vector<int64_t> start; // [inFeatures + 1]
    std::vector<int32_t> row;   // [rows * k]
    std::vector<int32_t> pos;   // [rows * k]
    size_t bytes() const { return start.size() * sizeof(int64_t) + (row.size() + pos.size()) * sizeof(int32_t); }
};

// Builds the layout from layer.indices (values are not read). Every index must lie in [0, inFeatures).
// Throws std::invalid_argument when rows * k does not fit in int32.
ColumnLayout buildColumnLayout(const CondensedView& layer);

// Batch columns per transposed block for this batch (the forward's choice: 8, 16 or 32, the same on
// every instruction set), or 0 when the batch is too small for the blocked passes (below 4: use
// condensedForward / condensedGradInput / condensedGradValues, which work per sample there).
int64_t trainingBlock(int64_t batch);

// Floats a transposed buffer of `features` rows needs: ceil(batch / block) * features * block.
int64_t packedFloats(int64_t batch, int64_t features, int64_t block);

// y [batch, rows] = the layer applied to x [batch, inFeatures], like condensedForward, and x transposed
// into xT (packedFloats(batch, inFeatures, block) floats, 64-byte aligned, written here) for
// condensedBackwardTraining. block = trainingBlock(batch) (> 0).
void condensedForwardTraining(const CondensedView& layer, const float* x, int64_t batch, int64_t block, float* xT,
                              float* y, Isa isa, int threads = 0);

// Both gradients from gy [batch, rows]:
//   gx [batch, inFeatures] (skipped when null; then columns may be null): by gathering over `columns`,
//      which must be buildColumnLayout of this layer's indices;
//   gv [rows, k] (skipped when null): from xT as written by condensedForwardTraining with this block.
// Threads never write the same element; the result does not depend on the thread count.
void condensedBackwardTraining(const CondensedView& layer, const ColumnLayout* columns, const float* xT,
                               const float* gy, int64_t batch, int64_t block, float* gx, float* gv, Isa isa,
                               int threads = 0);

} // namespace srigl::kernels
