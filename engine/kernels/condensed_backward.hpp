// Backward kernels for a condensed constant fan-in layer (y = bias + sum_j values[r, j] * x[indices[r, j]]):
// the gradients for the input and for the kept weights, raw pointers and plain types like the forward.
#pragma once

#include "engine/kernels/condensed_kernels.hpp"

#include <cstdint>
#include <stdexcept>
#include <type_traits>

namespace srigl::kernels {

// gx[b, i] = sum over (r, j) with indices[r, j] == i of gy[b, r] * values[r, j].
// gy: [batch, rows] row-major; gx: [batch, inFeatures] row-major, fully written (zero where no kept
// weight reads the input). Threads never write the same gx element, so no atomics: below batch 4 each
// owns whole samples (a scatter per sample); up to batch 63 each owns blocks of batch rows (a scatter
// into a private transposed block); from batch 64 the layer is transposed (each input's readers, a
// counting sort per call) and each thread owns (batch block, input range) tiles, gathered like the
// forward. layer.bias is ignored; rows must fit in int32.
// Contract: every index lies in [0, inFeatures) (not checked here: condensedLinear checks it once per
// call). Throws std::invalid_argument for an unsupported isa, null buffers or k < 1 with rows > 0.
void condensedGradInput(const CondensedView& layer, const float* gy, int64_t batch, float* gx, Isa isa,
                        int threads = 0);

// gv[r, j] = sum_b gy[b, r] * x[b, indices[r, j]]: one dot over the batch per kept weight.
// x: [batch, inFeatures], gy: [batch, rows], gv: [rows, k] row-major, fully written (zeros for an
// empty batch). Rows are split across threads. Same contract and errors as condensedGradInput.
void condensedGradValues(const CondensedView& layer, const float* x, const float* gy, int64_t batch, float* gv,
                         Isa isa, int threads = 0);

// Internals shared with condensed_backward_avx2.cpp and _avx512.cpp; not meant to be called from elsewhere.
namespace detail {

// The layer transposed (compressed columns): for input i, the kept weights that read it are entries
// [start[i], start[i + 1]), each with its row and value. Rebuilt per call from values and indices.
struct Columns {
    const int64_t* start = nullptr; // [inFeatures + 1]
    const int32_t* row = nullptr;   // [rows * k]
    const float* value = nullptr;   // [rows * k]
};

// Batch columns are handled in blocks of `block` (8, 16 or 32; 16 or 32 for AVX-512) with the forward's
// transposed layout: gyT [rows][block] and xT [inFeatures][block] for one block.
//   scatterRows: gxT[indices[r, j]][w] += values[r, j] * gyT[r][w] for every row; gxT [inFeatures][block].
//   gatherCols: gx[b0 + w, i] = sum over column i's entries of value * gyT[row][w], for inputs
//               [f0, f1) and the block's first nb (<= block) batch rows; gx is [batch, inFeatures].
//   dotRows:    gv[r, j] += sum_w gyT[r][w] * xT[indices[r, j]][w] for rows [r0, r1).
struct GatherArgs {
    Columns cols;
    const float* gyT = nullptr;
    int64_t block = 0;
    int64_t inFeatures = 0;
    float* gx = nullptr;
    int64_t b0 = 0, nb = 0;
};
void scatterRowsPortable(const CondensedView& layer, const float* gyT, int64_t block, float* gxT);
void scatterRowsAvx2(const CondensedView& layer, const float* gyT, int64_t block, float* gxT);
void gatherColsPortable(const GatherArgs& args, int64_t f0, int64_t f1);
void dotRowsPortable(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv,
                     int64_t r0, int64_t r1);
void gatherColsAvx2(const GatherArgs& args, int64_t f0, int64_t f1);
void dotRowsAvx2(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv, int64_t r0,
                 int64_t r1);
// AVX-512 (condensed_backward_avx512.cpp): blocks of 16 and 32 only. AVX-512 CPUs scatter and dot with
// the AVX2 kernels (faster there; that file says why).
void gatherColsAvx512(const GatherArgs& args, int64_t f0, int64_t f1);

// The gather that `isa` runs over blocks of `block` columns, and how many inputs it writes at a time
// (inner part boundaries must be multiples of `tile`). The AVX-512 one takes blocks of 16 and 32 and
// writes 16 inputs (one register transpose); blocks of 8 go to the AVX2 one, which sums in the same
// order.
struct GatherKernel {
    void (*run)(const GatherArgs& args, int64_t f0, int64_t f1) = nullptr;
    int64_t tile = 8;
};
GatherKernel gatherKernelFor(Isa isa, int64_t block);

// Calls f(std::integral_constant<int64_t, block>{}) for the run-time block width (8, 16 or 32), and
// with the index type as well, so that each kernel is compiled for fixed widths.
template <typename F>
void withBlock(int64_t block, F&& f) {
    switch (block) {
    case 8: return f(std::integral_constant<int64_t, 8>{});
    case 16: return f(std::integral_constant<int64_t, 16>{});
    case 32: return f(std::integral_constant<int64_t, 32>{});
    default: throw std::logic_error("condensed backward: unsupported batch block");
    }
}

template <typename F>
void withBlockAndIndex(int64_t block, bool indices16, F&& f) {
    withBlock(block, [&](auto width) {
        if (indices16) f(width, int16_t{});
        else f(width, int32_t{});
    });
}

} // namespace detail

} // namespace srigl::kernels
