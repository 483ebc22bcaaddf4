// Internal to engine/kernels/cuda: what the tiled kernels share. A block owns COLS batch columns and a chunk of
// rows; it stages x for its columns in shared memory one phase of input features at a time, and its
// warps walk their rows' (value, index) pairs 32 at a time against that tile.
//
// Tile layout: feature f's COLS columns are one row of COLS / 4 float4 chunks, chunk q stored at
// position q ^ (f / (32 / COLS)) % (COLS / 4). The XOR swizzle spreads the 8 features one quarter-warp
// writes at once over all 32 banks (conflict-free staging) and keeps each feature's row whole, so a
// slice of lanes reading one feature's columns stays conflict-free too. Row `features` (past the phase)
// is all zeros: padding pairs point there and add nothing.
#pragma once

#include "engine/kernels/cuda/cuda_check.cuh"

#include <cuda_runtime.h>

#include <cstdint>

namespace srigl::cuda::detail {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kTileThreads = 1024;
constexpr int kTileWarps = kTileThreads / 32;

// The layer as the kernels see it: typed indices, int rows and k (checked by checkLayer).
template <typename Index>
struct LayerArgs {
    const float* values;
    const Index* indices;
    const float* bias;
    int rows;
    int k;
    int64_t inFeatures;
};

template <typename Index>
LayerArgs<Index> layerArgs(const kernels::CondensedView& v) {
    return {v.values, static_cast<const Index*>(v.indices), v.bias, static_cast<int>(v.rows), static_cast<int>(v.k),
            v.inFeatures};
}

// Runs f(Index{}) with the view's index type.
template <typename F>
void withIndex(bool indices16, F&& f) {
    if (indices16) f(int16_t{});
    else f(int32_t{});
}

// Runs f(std::integral_constant<int, COLS>{}) for a tile width of 8, 16 or 32 batch columns.
template <int C>
struct Cols {
    static constexpr int value = C;
};
template <typename F>
void withCols(int cols, F&& f) {
    switch (cols) {
    case 8: return f(Cols<8>{});
    case 16: return f(Cols<16>{});
    default: return f(Cols<32>{});
    }
}

// Geometry of a COLS-column tile and of the lanes that read it: a slice is the COLS / 4 lanes that
// cover one feature's columns (4 each, one float4); a warp holds 32 / (COLS / 4) slices.
template <int COLS>
struct Tile {
    static_assert(COLS == 8 || COLS == 16 || COLS == 32, "tile widths are 8, 16 or 32 columns");
    static constexpr int kChunks = COLS / 4;
    static constexpr int kRowsPerBankCycle = 32 / COLS;
    static constexpr int kLanesPerSlice = kChunks;
    static constexpr int kSlices = 32 / kChunks;
    // float4 position of feature f's logical chunk q.
    __device__ static int at(int f, int q) { return f * kChunks + (q ^ ((f / kRowsPerBankCycle) % kChunks)); }
};

__device__ inline void fma4(float4& acc, float s, const float4& v) {
    acc.x = fmaf(s, v.x, acc.x);
    acc.y = fmaf(s, v.y, acc.y);
    acc.z = fmaf(s, v.z, acc.z);
    acc.w = fmaf(s, v.w, acc.w);
}

__device__ inline float component(const float4& v, int c) { return c == 0 ? v.x : c == 1 ? v.y : c == 2 ? v.z : v.w; }

// The block's threads copy features [fBegin, fBegin + count) of batch rows [b0, b0 + COLS) of x
// (zero past the batch) into the tile. Work goes in units of 8 features x 4 columns: lane (lane % 8,
// lane / 8) reads 4 batch rows at 8 consecutive features (32-byte runs) and writes one float4.
template <int COLS>
__device__ void loadTile(float4* tile, const float* __restrict__ x, int64_t batch, int64_t inFeatures, int64_t b0,
                         int64_t fBegin, int count) {
    using T = Tile<COLS>;
    constexpr int kPasses = (T::kChunks + 3) / 4;
    const int lane = threadIdx.x & 31;
    const int units = (count + 7) / 8 * kPasses;
    for (int u = threadIdx.x >> 5; u < units; u += blockDim.x >> 5) {
        const int f = u / kPasses * 8 + (lane & 7);
        const int q = u % kPasses * 4 + (lane >> 3);
        if (f >= count || q >= T::kChunks) continue;
        float v[4];
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int64_t b = b0 + 4 * q + c;
            v[c] = b < batch ? __ldg(x + b * inFeatures + fBegin + f) : 0.0f;
        }
        tile[T::at(f, q)] = make_float4(v[0], v[1], v[2], v[3]);
    }
}

// The reverse of loadTile for grad_input: tile features [0, count) go to gx[b0.., fBegin..] (batch rows
// past the batch skipped), stored when the block owns those entries alone, else added atomically
// (zeros skipped: gx was cleared first).
template <int COLS>
__device__ void storeTile(const float4* tile, float* __restrict__ gx, int64_t batch, int64_t inFeatures, int64_t b0,
                          int64_t fBegin, int count, bool accumulate) {
    using T = Tile<COLS>;
    constexpr int kPasses = (T::kChunks + 3) / 4;
    const int lane = threadIdx.x & 31;
    const int units = (count + 7) / 8 * kPasses;
    for (int u = threadIdx.x >> 5; u < units; u += blockDim.x >> 5) {
        const int f = u / kPasses * 8 + (lane & 7);
        const int q = u % kPasses * 4 + (lane >> 3);
        if (f >= count || q >= T::kChunks) continue;
        const float4 v = tile[T::at(f, q)];
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int64_t b = b0 + 4 * q + c;
            if (b >= batch) break;
            float* out = gx + b * inFeatures + fBegin + f;
            const float s = component(v, c);
            if (!accumulate) *out = s;
            else if (s != 0.0f) atomicAdd(out, s);
        }
    }
}

// One lane's share of the next 32 pairs of a row: pair j + lane, fetched into registers one chunk
// ahead of its use so that the global loads overlap the previous chunk's arithmetic.
struct PairFetch {
    float value;
    int64_t index; // -1 past the row's end
};

template <typename Index>
__device__ PairFetch fetchPairs(const LayerArgs<Index>& layer, int64_t rowOffset, int j) {
    const int64_t jj = int64_t(j) + (threadIdx.x & 31);
    if (jj >= layer.k) return {0.0f, -1};
    return {__ldg(layer.values + rowOffset + jj), static_cast<int64_t>(__ldg(layer.indices + rowOffset + jj))};
}

// Stages fetched pairs in the warp's buffer as (value, feature - fBegin) and returns how many: the
// leading run that reads features [fBegin, fEnd) (indices ascend, so the run is the phase's share).
// Entries past the run are (0, dummy), the tile's zero row. Out-of-range indices end the run, so they
// are never read. All 32 lanes must call it.
__device__ inline int stagePairs(const PairFetch& fetched, int64_t fBegin, int64_t fEnd, int dummy, float2* buffer) {
    const int lane = threadIdx.x & 31;
    const bool inside = fetched.index >= fBegin && fetched.index < fEnd;
    const unsigned ballot = __ballot_sync(kFullMask, inside);
    const int count = ballot == kFullMask ? 32 : __ffs(~ballot) - 1;
    const bool kept = lane < count;
    __syncwarp(); // the previous chunk's readers are done with the buffer
    buffer[lane] = make_float2(kept ? fetched.value : 0.0f, __int_as_float(kept ? int(fetched.index - fBegin) : dummy));
    __syncwarp();
    return count;
}

// Walks a row's pairs in the current phase from pair j, 32 at a time, calling consume(n) after each
// chunk of n pairs is staged, with the next chunk's loads already issued; returns where the row's
// phase ended (the cursor for the next phase). Warp-uniform: all 32 lanes call it for the same row.
template <typename Index, typename Consume>
__device__ int walkRowPhase(const LayerArgs<Index>& layer, int64_t rowOffset, int j, int64_t fBegin, int64_t fEnd,
                            int dummy, float2* buffer, Consume&& consume) {
    if (j >= layer.k) return j;
    PairFetch next = fetchPairs(layer, rowOffset, j);
    for (;;) {
        const int n = stagePairs(next, fBegin, fEnd, dummy, buffer);
        const bool more = n == 32 && j + 32 < layer.k;
        if (more) next = fetchPairs(layer, rowOffset, j + 32);
        consume(n, j);
        j += n;
        if (!more) return j;
    }
}

// Launch geometry of a tiled kernel: colBlocks blocks along the batch (or batch slices), rowChunks
// along the rows, blockIdx.x = colBlock * rowChunks + rowChunk (neighbouring blocks share an x tile).
struct TileArgs {
    int features = 0;     // tile rows per phase (the zero row comes after them)
    int64_t phases = 1;   // ceil(inFeatures / features)
    int64_t rowChunks = 1;
    int rowsPerBlock = 0;
};

struct TilePlan {
    int cols = 16;
    int64_t colBlocks = 1;
    TileArgs args;
    size_t smemBytes = 0;
    int64_t blocks() const { return colBlocks * args.rowChunks; }
};

// Dynamic shared memory: the tile with its zero row, one pair buffer per warp, one cursor per row.
// The pair buffers and cursors start where the tile ends (float4 aligned).
inline size_t tileSmemBytes(int cols, int64_t features, int rowsPerBlock) {
    return static_cast<size_t>(features + 1) * cols * sizeof(float) + kTileWarps * 32 * sizeof(float2) +
           static_cast<size_t>(rowsPerBlock) * sizeof(int);
}

// Picks rows per block so the grid fills the device about once (whole waves: a partial second wave
// would double the time), then the widest feature phase the shared memory allows. Throws
// std::runtime_error if the grid or the shared memory cannot hold the work.
TilePlan planTiles(int cols, int64_t colBlocks, int64_t rows, int64_t inFeatures);

// Tile width for a batch: SRIGL_CUDA_TILE_COLS=8|16|32 forces one (for measuring); otherwise 8 up to
// batch 8, 16 up to batch 16, then 32 when 32 columns of every input fit shared memory at once and 16
// when they do not (a second phase costs more than the wider tile saves).
int tileColsFor(int64_t batch, int64_t inFeatures);

} // namespace srigl::cuda::detail
