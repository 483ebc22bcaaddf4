// Backward kernels for a condensed constant fan-in layer (y = bias + sum_j values[r, j] * x[indices[r, j]]):
// the gradients for the input and for the kept weights, raw pointers and plain types like the forward.
#pragma once

#include "engine/inference/condensed_kernels.hpp"

#include <cstdint>

namespace srigl::kernels {

// gx[b, i] = sum over (r, j) with indices[r, j] == i of gy[b, r] * values[r, j].
// gy: [batch, rows] row-major; gx: [batch, inFeatures] row-major, fully written (zero where no kept
// weight reads the input). The scatter is partitioned so that threads never write the same gx element
// (each owns whole batch rows), hence no atomics; a batch smaller than the thread count uses fewer
// threads. layer.bias is ignored.
// Contract: every index lies in [0, inFeatures) (not checked here: condensedLinear checks it once per
// call). Throws std::invalid_argument for an unsupported isa, null buffers or k < 1 with rows > 0.
void condensedGradInput(const CondensedView& layer, const float* gy, int64_t batch, float* gx, Isa isa,
                        int threads = 0);

// gv[r, j] = sum_b gy[b, r] * x[b, indices[r, j]]: one dot over the batch per kept weight.
// x: [batch, inFeatures], gy: [batch, rows], gv: [rows, k] row-major, fully written (zeros for an
// empty batch). Rows are split across threads. Same contract and errors as condensedGradInput.
void condensedGradValues(const CondensedView& layer, const float* x, const float* gy, int64_t batch, float* gv,
                         Isa isa, int threads = 0);

// Internals shared with condensed_backward_avx2.cpp; not meant to be called from elsewhere.
namespace detail {

// Batch columns are handled in blocks of `block` (8, 16 or 32) with the forward's transposed layout:
// gyT [rows][block] and xT / gxT [inFeatures][block] for one block.
//   scatterRows: gxT[indices[r, j]][w] += values[r, j] * gyT[r][w] for rows [r0, r1).
//   dotRows:     gv[r, j] += sum_w gyT[r][w] * xT[indices[r, j]][w] for rows [r0, r1).
void scatterRowsPortable(const CondensedView& layer, const float* gyT, int64_t block, float* gxT, int64_t r0,
                         int64_t r1);
void dotRowsPortable(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv,
                     int64_t r0, int64_t r1);
void scatterRowsAvx2(const CondensedView& layer, const float* gyT, int64_t block, float* gxT, int64_t r0,
                     int64_t r1);
void dotRowsAvx2(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv, int64_t r0,
                 int64_t r1);

} // namespace detail

} // namespace srigl::kernels
