// Backward of a condensed layer on the GPU: grad_input (a scatter of gy * values into gx) and
// grad_values (per kept weight, a dot over the batch of gy and the input it reads).
//
// Both pick by batch like the forward: up to batch 8 a warp per row works straight from global memory;
// above, the tiled kernels reuse the forward's tile, pair staging and lane slices (condensed_tile.cuh).
#include "engine/kernels/cuda/condensed_cuda.hpp"
#include "engine/kernels/cuda/condensed_tile.cuh"
#include "engine/kernels/cuda/cuda_check.cuh"

#include <algorithm>

namespace srigl::cuda {
namespace detail {
namespace {

constexpr int kWarpRowThreads = 128;
constexpr int kWarpRowColumns = 4;
constexpr int64_t kWarpPerRowMaxBatch = 8;
// grad_values adds the partial sums of at most this many batch slices (and this much workspace).
constexpr int64_t kMaxSlices = 16;
constexpr int64_t kMaxWorkspaceBytes = int64_t(256) << 20;

// grad_input, few samples. Block: 4 warps, warp w of block x owns row 4x + w; blockIdx.y strides over
// groups of 4 batch columns. Lanes stride over the row's pairs and add value * gy[b, r] into gx[b, index]
// with global atomics (gx cleared first); gy for the group sits in registers.
template <typename Index>
__global__ void __launch_bounds__(kWarpRowThreads)
    warpPerRowGradInput(LayerArgs<Index> layer, const float* __restrict__ gy, int64_t batch, float* __restrict__ gx) {
    constexpr int C = kWarpRowColumns;
    const int lane = threadIdx.x & 31;
    const int64_t r = int64_t(blockIdx.x) * (kWarpRowThreads / 32) + (threadIdx.x >> 5);
    if (r >= layer.rows) return;
    const int64_t k = layer.k;
    const int64_t inFeatures = layer.inFeatures;
    const float* values = layer.values + r * k;
    const Index* indices = layer.indices + r * k;
    for (int64_t b0 = int64_t(blockIdx.y) * C; b0 < batch; b0 += int64_t(gridDim.y) * C) {
        const int64_t nb = batch - b0 < C ? batch - b0 : C;
        float g[C];
#pragma unroll
        for (int c = 0; c < C; ++c) g[c] = c < nb ? gy[(b0 + c) * layer.rows + r] : 0.0f;
        float* gxb = gx + b0 * inFeatures;
        for (int64_t j = lane; j < k; j += 32) {
            const float v = __ldg(values + j);
            const int64_t i = __ldg(indices + j);
            if (i < 0 || i >= inFeatures) continue;
#pragma unroll
            for (int c = 0; c < C; ++c)
                if (c < nb) atomicAdd(gxb + c * inFeatures + i, v * g[c]);
        }
    }
}

// grad_values, few samples. Block: 4 warps, warp w of block x owns row 4x + w; lane l computes
// gv[r, j] for j = l, l + 32, ...: a dot over the whole batch of gy[b, r] (the same for every lane, a
// broadcast load) and x[b, index] (a gather). Every element is written once, in a fixed order.
template <typename Index>
__global__ void __launch_bounds__(kWarpRowThreads)
    warpPerRowGradValues(LayerArgs<Index> layer, const float* __restrict__ x, const float* __restrict__ gy,
                         int64_t batch, float* __restrict__ gv) {
    const int lane = threadIdx.x & 31;
    const int64_t r = int64_t(blockIdx.x) * (kWarpRowThreads / 32) + (threadIdx.x >> 5);
    if (r >= layer.rows) return;
    const int64_t k = layer.k;
    const int64_t inFeatures = layer.inFeatures;
    for (int64_t j = lane; j < k; j += 32) {
        const int64_t i = __ldg(layer.indices + r * k + j);
        float sum = 0.0f;
        if (i >= 0 && i < inFeatures) {
            for (int64_t b = 0; b < batch; ++b)
                sum = fmaf(__ldg(gy + b * layer.rows + r), __ldg(x + b * inFeatures + i), sum);
        }
        gv[r * k + j] = sum;
    }
}

// gy[b0 + 4 lis + c, r] for c < 4, zero past the batch: the 4 batch columns of one lane.
__device__ inline float4 gradColumns(const float* __restrict__ gy, int64_t batch, int rows, int64_t b0, int lis,
                                     int64_t r) {
    float g[4];
#pragma unroll
    for (int c = 0; c < 4; ++c) {
        const int64_t b = b0 + 4 * lis + c;
        g[c] = b < batch ? __ldg(gy + b * rows + r) : 0.0f;
    }
    return make_float4(g[0], g[1], g[2], g[3]);
}

// grad_input, tiled. Block (1024 threads): batch columns [b0, b0 + COLS) and a chunk of rows, numbered
// like the forward. Per feature phase the tile is a gx accumulator: cleared, then warp w takes rows
// r0 + w, r0 + w + 32, ..., stages their pairs 32 at a time, and slice s adds value * gy (4 columns
// per lane) for pairs s, s + slices, ... into the tile with shared-memory atomics; the finished tile
// goes to gx, stored when one chunk holds every row, else added atomically onto the cleared gx.
template <typename Index, int COLS>
__global__ void __launch_bounds__(kTileThreads, 1)
    tiledGradInput(LayerArgs<Index> layer, const float* __restrict__ gy, int64_t batch, float* __restrict__ gx,
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
    const int lis = lane % T::kLanesPerSlice;

    const int64_t rowChunk = blockIdx.x % args.rowChunks;
    const int64_t b0 = blockIdx.x / args.rowChunks * COLS;
    const int64_t r0 = rowChunk * args.rowsPerBlock;
    const int rowsHere = static_cast<int>(min(int64_t(args.rowsPerBlock), int64_t(layer.rows) - r0));
    const bool laneHasColumns = b0 + 4 * lis < batch; // lanes past the batch would only add zeros

    for (int64_t phase = 0; phase < args.phases; ++phase) {
        const int64_t fBegin = phase * args.features;
        const int count = static_cast<int>(min(int64_t(args.features), layer.inFeatures - fBegin));
        const int64_t fEnd = fBegin + count;
        __syncthreads(); // the previous phase's tile has been written out
        for (int q = threadIdx.x; q < count * T::kChunks; q += blockDim.x)
            tile[q] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        __syncthreads();

        for (int rl = warp; rl < rowsHere; rl += kTileWarps) {
            const int64_t r = r0 + rl;
            const int64_t rowOffset = r * layer.k;
            const float4 g = gradColumns(gy, batch, layer.rows, b0, lis, r);
            const int j = walkRowPhase(layer, rowOffset, phase == 0 ? 0 : cursors[rl], fBegin, fEnd, args.features,
                                       pairs, [&](int n, int) {
                                           if (!laneHasColumns) return;
#pragma unroll
                                           for (int step = 0; step < T::kLanesPerSlice; ++step) {
                                               const int p = slice + T::kSlices * step;
                                               if (p < n) {
                                                   const float2 pair = pairs[p];
                                                   float* out =
                                                       reinterpret_cast<float*>(tile + T::at(__float_as_int(pair.y), lis));
                                                   atomicAdd(out + 0, pair.x * g.x);
                                                   atomicAdd(out + 1, pair.x * g.y);
                                                   atomicAdd(out + 2, pair.x * g.z);
                                                   atomicAdd(out + 3, pair.x * g.w);
                                               }
                                           }
                                       });
            if (args.phases > 1 && lane == 0) cursors[rl] = j;
        }
        __syncthreads();
        storeTile<COLS>(tile, gx, batch, layer.inFeatures, b0, fBegin, count, args.rowChunks > 1);
    }
}

// Sums N partial values spread over the N lanes of a slice (N = 2, 4, 8, lanes aligned to N):
// recursive halving, each lane keeping the half its bit selects, so that afterwards part[0] of lane
// (lane % N) holds the slice's total for entry lane % N. N - 1 shuffles instead of N log N.
template <int N>
__device__ void reduceScatter(float (&part)[N], int lis) {
#pragma unroll
    for (int h = N / 2; h >= 1; h >>= 1) {
        const bool upper = (lis & h) != 0;
#pragma unroll
        for (int i = 0; i < h; ++i) {
            const float send = upper ? part[i] : part[i + h];
            const float keep = upper ? part[i + h] : part[i];
            part[i] = keep + __shfl_xor_sync(kFullMask, send, h);
        }
    }
}

// grad_values, tiled. Block (1024 threads): batch slice `slice` (batch blocks slice, slice + slices, ...
// of COLS columns each) and a chunk of rows; blockIdx.x = slice * rowChunks + rowChunk. Per batch block
// and feature phase the block stages x's tile; warp w takes rows r0 + w, r0 + w + 32, ...; per 32
// staged pairs, lane (slice s, chunk lis) dots its 4 gy columns with the tile for pairs s + slices * t,
// t < lanes per slice, then reduceScatter leaves pair s + slices * lis's sum in that lane, which adds
// it to out[r, j] (out = the slice's workspace, or gv itself with one slice; cleared beforehand). Each
// element has one owner thread per block, so no atomics; the batch blocks are added in order.
template <typename Index, int COLS>
__global__ void __launch_bounds__(kTileThreads, 1)
    tiledGradValues(LayerArgs<Index> layer, const float* __restrict__ x, const float* __restrict__ gy, int64_t batch,
                    float* __restrict__ out, int64_t slices, TileArgs args) {
    using T = Tile<COLS>;
    extern __shared__ float4 smem[];
    float4* tile = smem;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    float2* pairs = reinterpret_cast<float2*>(tile + (args.features + 1) * T::kChunks) + warp * 32;
    int* cursors = reinterpret_cast<int*>(reinterpret_cast<float2*>(tile + (args.features + 1) * T::kChunks) +
                                          kTileWarps * 32);
    const int slice = lane / T::kLanesPerSlice;
    const int lis = lane % T::kLanesPerSlice;

    const int64_t rowChunk = blockIdx.x % args.rowChunks;
    const int64_t batchSlice = blockIdx.x / args.rowChunks;
    const int64_t r0 = rowChunk * args.rowsPerBlock;
    const int rowsHere = static_cast<int>(min(int64_t(args.rowsPerBlock), int64_t(layer.rows) - r0));
    const int64_t batchBlocks = (batch + COLS - 1) / COLS;
    float* target = out + batchSlice * int64_t(layer.rows) * layer.k;

    for (int q = threadIdx.x; q < T::kChunks; q += blockDim.x)
        tile[args.features * T::kChunks + q] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);

    for (int64_t bb = batchSlice; bb < batchBlocks; bb += slices) {
        const int64_t b0 = bb * COLS;
        for (int64_t phase = 0; phase < args.phases; ++phase) {
            const int64_t fBegin = phase * args.features;
            const int count = static_cast<int>(min(int64_t(args.features), layer.inFeatures - fBegin));
            const int64_t fEnd = fBegin + count;
            __syncthreads();
            loadTile<COLS>(tile, x, batch, layer.inFeatures, b0, fBegin, count);
            __syncthreads();

            for (int rl = warp; rl < rowsHere; rl += kTileWarps) {
                const int64_t r = r0 + rl;
                const int64_t rowOffset = r * layer.k;
                const float4 g = gradColumns(gy, batch, layer.rows, b0, lis, r);
                const int j = walkRowPhase(
                    layer, rowOffset, phase == 0 ? 0 : cursors[rl], fBegin, fEnd, args.features, pairs,
                    [&](int n, int chunkStart) {
                        float part[T::kLanesPerSlice];
#pragma unroll
                        for (int step = 0; step < T::kLanesPerSlice; ++step) {
                            const int p = slice + T::kSlices * step;
                            part[step] = 0.0f;
                            if (p < n) {
                                const float4 v = tile[T::at(__float_as_int(pairs[p].y), lis)];
                                part[step] = g.x * v.x + g.y * v.y + g.z * v.z + g.w * v.w;
                            }
                        }
                        reduceScatter<T::kLanesPerSlice>(part, lis); // all lanes: it shuffles
                        const int mine = slice + T::kSlices * lis;
                        if (mine < n) target[rowOffset + chunkStart + mine] += part[0];
                    });
                if (args.phases > 1 && lane == 0) cursors[rl] = j;
            }
        }
    }
}

// gv[e] = sum over slices s (in order) of workspace[s][e]; a grid-stride loop over the rows * k elements.
__global__ void sumSlices(const float* __restrict__ workspace, int64_t slices, int64_t n, float* __restrict__ gv) {
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
        float sum = 0.0f;
        for (int64_t s = 0; s < slices; ++s) sum += workspace[s * n + e];
        gv[e] = sum;
    }
}

// Stream-ordered scratch memory, released on the stream when the scope ends (also on a throw).
class StreamBuffer {
public:
    StreamBuffer(size_t bytes, cudaStream_t stream) : stream_(stream) {
        check(cudaMallocAsync(&data_, bytes, stream), "condensedGradValues: cudaMallocAsync");
    }
    ~StreamBuffer() { cudaFreeAsync(data_, stream_); }
    StreamBuffer(const StreamBuffer&) = delete;
    StreamBuffer& operator=(const StreamBuffer&) = delete;
    float* data() const { return static_cast<float*>(data_); }

private:
    void* data_ = nullptr;
    cudaStream_t stream_;
};

unsigned warpRowBlocks(int64_t rows) { return static_cast<unsigned>((rows + 3) / 4); }

template <typename Index, int COLS>
void launchTiledGradInput(const kernels::CondensedView& view, const float* gy, int64_t batch, float* gx,
                          cudaStream_t stream) {
    const TilePlan plan = planTiles(COLS, (batch + COLS - 1) / COLS, view.rows, view.inFeatures);
    if (plan.args.rowChunks > 1)
        check(cudaMemsetAsync(gx, 0, sizeof(float) * batch * view.inFeatures, stream), "condensedGradInput: memset");
    auto kernel = tiledGradInput<Index, COLS>;
    // The attribute is per function, shared by every host thread: raise it to the device's whole opt-in limit
    // (>= any plan's smemBytes) so that a concurrent call with a smaller plan cannot lower it between another
    // thread's set and launch (that launch would then fail).
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(currentDevice().smemPerBlockOptin)),
          "condensedGradInput: cudaFuncSetAttribute");
    kernel<<<static_cast<unsigned>(plan.blocks()), kTileThreads, plan.smemBytes, stream>>>(layerArgs<Index>(view), gy,
                                                                                          batch, gx, plan.args);
    checkLaunch("condensedGradInput (tiled)");
}

template <typename Index, int COLS>
void launchTiledGradValues(const kernels::CondensedView& view, const float* x, const float* gy, int64_t batch,
                           float* gv, cudaStream_t stream) {
    const int64_t n = view.rows * view.k;
    const int64_t batchBlocks = (batch + COLS - 1) / COLS;
    int64_t slices = std::min(batchBlocks, kMaxSlices);
    while (slices > 1 && slices * n * int64_t(sizeof(float)) > kMaxWorkspaceBytes) slices /= 2;
    const TilePlan plan = planTiles(COLS, slices, view.rows, view.inFeatures);
    auto kernel = tiledGradValues<Index, COLS>;
    // The attribute is per function, shared by every host thread: raise it to the device's whole opt-in limit
    // (>= any plan's smemBytes) so that a concurrent call with a smaller plan cannot lower it between another
    // thread's set and launch (that launch would then fail).
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(currentDevice().smemPerBlockOptin)),
          "condensedGradValues: cudaFuncSetAttribute");
    const auto launch = [&](float* out) {
        check(cudaMemsetAsync(out, 0, sizeof(float) * slices * n, stream), "condensedGradValues: memset");
        kernel<<<static_cast<unsigned>(plan.blocks()), kTileThreads, plan.smemBytes, stream>>>(
            layerArgs<Index>(view), x, gy, batch, out, slices, plan.args);
        checkLaunch("condensedGradValues (tiled)");
    };
    if (slices == 1) {
        launch(gv);
        return;
    }
    StreamBuffer workspace(sizeof(float) * slices * n, stream);
    launch(workspace.data());
    const int64_t blocks = std::min<int64_t>((n + 255) / 256, 65535);
    sumSlices<<<static_cast<unsigned>(blocks), 256, 0, stream>>>(workspace.data(), slices, n, gv);
    checkLaunch("condensedGradValues (sum of slices)");
}

} // namespace
} // namespace detail

void condensedGradInput(const kernels::CondensedView& layer, const float* gy, int64_t batch, float* gx, void* stream) {
    detail::checkLayer("condensedGradInput", layer, batch, batch == 0 || (gx && (layer.rows == 0 || gy)));
    if (batch == 0) return;
    const cudaStream_t s = detail::asStream(stream);
    const size_t gxBytes = sizeof(float) * batch * layer.inFeatures;
    if (layer.rows == 0) {
        detail::check(cudaMemsetAsync(gx, 0, gxBytes, s), "condensedGradInput: memset");
        return;
    }
    detail::withIndex(layer.indices16, [&](auto index) {
        using Index = decltype(index);
        if (batch <= detail::kWarpPerRowMaxBatch) {
            detail::check(cudaMemsetAsync(gx, 0, gxBytes, s), "condensedGradInput: memset");
            const dim3 grid(detail::warpRowBlocks(layer.rows), static_cast<unsigned>((batch + 3) / 4));
            detail::warpPerRowGradInput<Index>
                <<<grid, detail::kWarpRowThreads, 0, s>>>(detail::layerArgs<Index>(layer), gy, batch, gx);
            detail::checkLaunch("condensedGradInput (warp per row)");
            return;
        }
        detail::withCols(detail::tileColsFor(batch, layer.inFeatures), [&](auto cols) {
            detail::launchTiledGradInput<Index, decltype(cols)::value>(layer, gy, batch, gx, s);
        });
    });
}

void condensedGradValues(const kernels::CondensedView& layer, const float* x, const float* gy, int64_t batch,
                         float* gv, void* stream) {
    detail::checkLayer("condensedGradValues", layer, batch, layer.rows == 0 || (gv && (batch == 0 || (x && gy))));
    if (layer.rows == 0) return;
    const cudaStream_t s = detail::asStream(stream);
    if (batch == 0) {
        detail::check(cudaMemsetAsync(gv, 0, sizeof(float) * layer.rows * layer.k, s), "condensedGradValues: memset");
        return;
    }
    detail::withIndex(layer.indices16, [&](auto index) {
        using Index = decltype(index);
        if (batch <= detail::kWarpPerRowMaxBatch) {
            detail::warpPerRowGradValues<Index><<<detail::warpRowBlocks(layer.rows), detail::kWarpRowThreads, 0, s>>>(
                detail::layerArgs<Index>(layer), x, gy, batch, gv);
            detail::checkLaunch("condensedGradValues (warp per row)");
            return;
        }
        detail::withCols(detail::tileColsFor(batch, layer.inFeatures), [&](auto cols) {
            detail::launchTiledGradValues<Index, decltype(cols)::value>(layer, x, gy, batch, gv, s);
        });
    });
}

} // namespace srigl::cuda
