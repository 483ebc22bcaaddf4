// Forward of a condensed layer on the GPU: y[b, r] = bias[r] + sum_j values[r, j] * x[b, indices[r, j]].
//
// Variant rule (chooseForwardVariant): WarpPerRow up to batch 8, Tiled above. A few samples cannot
// repay staging an x tile per block (each staged input would be read by a handful of rows only), while
// from a dozen samples on the tile turns every gather into a shared-memory read and every loaded
// (value, index) pair into 4-32 multiply-adds.
#include "engine/kernels/cuda/condensed_cuda.hpp"
#include "engine/kernels/cuda/condensed_tile.cuh"
#include "engine/kernels/cuda/cuda_check.cuh"

#include <algorithm>

namespace srigl::cuda {
namespace detail {
namespace {

constexpr int kWarpRowThreads = 128;
constexpr int kWarpRowColumns = 4; // batch columns a warp keeps partial sums for at once
constexpr int64_t kWarpPerRowMaxBatch = 8;

// WarpPerRow. Block: 4 warps; warp w of block x owns row 4x + w. blockIdx.y strides over groups of 4
// batch columns. Lanes stride over the row's pairs (coalesced value and index loads), gather x through
// the read-only cache and keep one partial sum per batch column, reusing each loaded pair for the whole
// group; a shuffle tree adds the 32 lanes and lane 0 writes y. Indices outside [0, inFeatures) are skipped.
template <typename Index>
__global__ void __launch_bounds__(kWarpRowThreads)
    warpPerRowForward(LayerArgs<Index> layer, const float* __restrict__ x, int64_t batch, float* __restrict__ y) {
    constexpr int C = kWarpRowColumns;
    const int lane = threadIdx.x & 31;
    const int64_t r = int64_t(blockIdx.x) * (kWarpRowThreads / 32) + (threadIdx.x >> 5);
    if (r >= layer.rows) return; // the whole warp leaves: nothing below synchronises the block
    const int64_t k = layer.k;
    const int64_t inFeatures = layer.inFeatures;
    const float* values = layer.values + r * k;
    const Index* indices = layer.indices + r * k;
    const float bias = layer.bias ? layer.bias[r] : 0.0f;

    for (int64_t b0 = int64_t(blockIdx.y) * C; b0 < batch; b0 += int64_t(gridDim.y) * C) {
        const int64_t nb = batch - b0 < C ? batch - b0 : C;
        const float* xb = x + b0 * inFeatures;
        float acc[C];
#pragma unroll
        for (int c = 0; c < C; ++c) acc[c] = 0.0f;

        int64_t j = lane;
        // Four pairs in flight per lane: their loads issue together, before the gathers that need them.
        for (; j + 96 < k; j += 128) {
            float v[4];
            int64_t i[4];
#pragma unroll
            for (int u = 0; u < 4; ++u) {
                v[u] = __ldg(values + j + 32 * u);
                i[u] = __ldg(indices + j + 32 * u);
            }
#pragma unroll
            for (int u = 0; u < 4; ++u) {
                if (i[u] < 0 || i[u] >= inFeatures) continue;
#pragma unroll
                for (int c = 0; c < C; ++c)
                    if (c < nb) acc[c] = fmaf(v[u], __ldg(xb + c * inFeatures + i[u]), acc[c]);
            }
        }
        for (; j < k; j += 32) {
            const float v = __ldg(values + j);
            const int64_t i = __ldg(indices + j);
            if (i < 0 || i >= inFeatures) continue;
#pragma unroll
            for (int c = 0; c < C; ++c)
                if (c < nb) acc[c] = fmaf(v, __ldg(xb + c * inFeatures + i), acc[c]);
        }
#pragma unroll
        for (int c = 0; c < C; ++c)
#pragma unroll
            for (int offset = 16; offset > 0; offset >>= 1) acc[c] += __shfl_xor_sync(kFullMask, acc[c], offset);
        if (lane == 0) {
#pragma unroll
            for (int c = 0; c < C; ++c)
                if (c < nb) y[(b0 + c) * layer.rows + r] = acc[c] + bias;
        }
    }
}

// Tiled. Block (1024 threads): batch columns [b0, b0 + COLS) and rows [r0, r0 + rowsPerBlock), see
// TileArgs for the block numbering. Per feature phase the block stages x's tile, then warp w takes
// rows r0 + w, r0 + w + 32, ...: for each 32 staged pairs, slice s (COLS / 4 lanes, 4 columns per
// lane) takes pairs s, s + slices, ... and adds value * tile[feature] (one float4 read) into its 4
// partial sums; at the row's end a shuffle tree adds the slices and slice 0 writes its columns (the
// first phase writes bias + sum, later ones add). A row's position in its pairs carries over between
// phases in shared memory (cursors), which is why indices must ascend when there is more than one phase.
template <typename Index, int COLS>
__global__ void __launch_bounds__(kTileThreads, 1)
    tiledForward(LayerArgs<Index> layer, const float* __restrict__ x, int64_t batch, float* __restrict__ y,
                 TileArgs args) {
    using T = Tile<COLS>;
    extern __shared__ float4 smem[];
    float4* tile = smem;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    float2* pairs = reinterpret_cast<float2*>(tile + (args.features + 1) * T::kChunks) + warp * 32;
    int* cursors = reinterpret_cast<int*>(reinterpret_cast<float2*>(tile + (args.features + 1) * T::kChunks) +
                                          kTileWarps * 32);
    const int slice = lane / T::kLanesPerSlice;
    const int lis = lane % T::kLanesPerSlice; // this lane's float4 chunk: batch columns 4 lis .. 4 lis + 3

    const int64_t rowChunk = blockIdx.x % args.rowChunks;
    const int64_t b0 = blockIdx.x / args.rowChunks * COLS;
    const int64_t r0 = rowChunk * args.rowsPerBlock;
    const int rowsHere = static_cast<int>(min(int64_t(args.rowsPerBlock), int64_t(layer.rows) - r0));

    for (int q = threadIdx.x; q < T::kChunks; q += blockDim.x)
        tile[args.features * T::kChunks + q] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);

    for (int64_t phase = 0; phase < args.phases; ++phase) {
        const int64_t fBegin = phase * args.features;
        const int count = static_cast<int>(min(int64_t(args.features), layer.inFeatures - fBegin));
        const int64_t fEnd = fBegin + count;
        __syncthreads(); // the previous phase's readers are done with the tile
        loadTile<COLS>(tile, x, batch, layer.inFeatures, b0, fBegin, count);
        __syncthreads();

        for (int rl = warp; rl < rowsHere; rl += kTileWarps) {
            const int64_t r = r0 + rl;
            const int64_t rowOffset = r * layer.k;
            float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            const int j = walkRowPhase(layer, rowOffset, phase == 0 ? 0 : cursors[rl], fBegin, fEnd, args.features,
                                       pairs, [&](int n, int) {
#pragma unroll
                                           for (int step = 0; step < T::kLanesPerSlice; ++step) {
                                               const int p = slice + T::kSlices * step;
                                               if (p < n) {
                                                   const float2 pair = pairs[p];
                                                   fma4(acc, pair.x, tile[T::at(__float_as_int(pair.y), lis)]);
                                               }
                                           }
                                       });
            if (args.phases > 1 && lane == 0) cursors[rl] = j;
#pragma unroll
            for (int offset = T::kLanesPerSlice; offset < 32; offset <<= 1) {
                acc.x += __shfl_xor_sync(kFullMask, acc.x, offset);
                acc.y += __shfl_xor_sync(kFullMask, acc.y, offset);
                acc.z += __shfl_xor_sync(kFullMask, acc.z, offset);
                acc.w += __shfl_xor_sync(kFullMask, acc.w, offset);
            }
            if (slice == 0) {
                const float bias = phase == 0 && layer.bias ? layer.bias[r] : 0.0f;
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    const int64_t b = b0 + 4 * lis + c;
                    if (b >= batch) break;
                    float* out = y + b * layer.rows + r;
                    const float sum = component(acc, c);
                    if (phase == 0) *out = sum + bias;
                    else *out += sum;
                }
            }
        }
    }
}

template <typename Index>
void launchWarpPerRow(const kernels::CondensedView& view, const float* x, int64_t batch, float* y,
                      cudaStream_t stream) {
    const int64_t groups = (batch + kWarpRowColumns - 1) / kWarpRowColumns;
    const dim3 grid(static_cast<unsigned>((view.rows + 3) / 4), static_cast<unsigned>(std::min<int64_t>(groups, 65535)));
    warpPerRowForward<Index><<<grid, kWarpRowThreads, 0, stream>>>(layerArgs<Index>(view), x, batch, y);
    checkLaunch("condensedForward (warp per row)");
}

template <typename Index, int COLS>
void launchTiled(const kernels::CondensedView& view, const float* x, int64_t batch, float* y, cudaStream_t stream) {
    const TilePlan plan = planTiles(COLS, (batch + COLS - 1) / COLS, view.rows, view.inFeatures);
    auto kernel = tiledForward<Index, COLS>;
    // The attribute is per function, shared by every host thread: raise it to the device's whole opt-in limit
    // (>= any plan's smemBytes) so that a concurrent call with a smaller plan cannot lower it between another
    // thread's set and launch (that launch would then fail).
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(currentDevice().smemPerBlockOptin)),
          "condensedForward: cudaFuncSetAttribute");
    kernel<<<static_cast<unsigned>(plan.blocks()), kTileThreads, plan.smemBytes, stream>>>(layerArgs<Index>(view), x,
                                                                                          batch, y, plan.args);
    checkLaunch("condensedForward (tiled)");
}

} // namespace
} // namespace detail

ForwardVariant chooseForwardVariant(int64_t batch, int64_t /*rows*/, int64_t /*k*/, int64_t /*inFeatures*/) {
    return batch <= detail::kWarpPerRowMaxBatch ? ForwardVariant::WarpPerRow : ForwardVariant::Tiled;
}

void condensedForward(const kernels::CondensedView& layer, const float* x, int64_t batch, float* y, void* stream,
                      ForwardVariant variant) {
    const bool empty = layer.rows == 0 || batch == 0;
    detail::checkLayer("condensedForward", layer, batch, empty || (x && y));
    if (empty) return;
    if (variant == ForwardVariant::Auto) variant = chooseForwardVariant(batch, layer.rows, layer.k, layer.inFeatures);
    const cudaStream_t s = detail::asStream(stream);
    detail::withIndex(layer.indices16, [&](auto index) {
        using Index = decltype(index);
        if (variant == ForwardVariant::WarpPerRow) {
            detail::launchWarpPerRow<Index>(layer, x, batch, y, s);
            return;
        }
        detail::withCols(detail::tileColsFor(batch, layer.inFeatures), [&](auto cols) {
            detail::launchTiled<Index, decltype(cols)::value>(layer, x, batch, y, s);
        });
    });
}

} // namespace srigl::cuda
