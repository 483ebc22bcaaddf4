// Backward kernels of condensed constant fan-in layers: argument checks, the thread split, the dispatch
// to the per-ISA block kernels, and the portable kernels (plain C++ the compiler vectorises).
#include "engine/kernels/condensed_backward.hpp"
#include "engine/kernels/avx512_dispatch.hpp"
#include "engine/kernels/condensed_internal.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace srigl::kernels {
namespace {

// Below this batch the transposed layout wastes most of its 8-column block on padding: the per-sample
// loops run instead.
constexpr int64_t kMinBlockedBatch = 4;

// From this batch grad_input gathers over the transposed layer, below it scatters. The transpose is a
// counting sort with random writes over rows * k entries (~1 ms for 768 x 3072 at 90%, Zen 3), which
// the gather's saving (no load and store per multiply-add) repays only over a large batch.
constexpr int64_t kMinGatherBatch = 64;

// Batch columns per block: wider blocks amortise each (value, index) load over more multiply-adds, as in
// the forward kernel; 32 columns of 3072 inputs (384 KiB) still fit a 512 KiB L2. The same on every
// instruction set: the only AVX-512 kernel here is the gather, from batch 64 (block 32); the scatter and
// the dots are AVX2's on AVX-512 CPUs too. The block depends on the batch only, never on the thread
// count (results stay the same).
int64_t blockFor(int64_t batch) {
    if (batch >= 64) return 32;
    return batch >= 16 ? 16 : 8;
}

void checkArguments(const char* what, const CondensedView& layer, Isa isa, bool buffersPresent) {
    if (!isaSupported(isa))
        throw std::invalid_argument(std::string(what) + ": instruction set " + toString(isa) +
                                    " is not supported by this CPU");
    if (layer.rows < 0 || layer.inFeatures < 1)
        throw std::invalid_argument(std::string(what) + ": needs rows >= 0 and inFeatures >= 1");
    if (layer.rows > 0 && (layer.k < 1 || !layer.values || !layer.indices))
        throw std::invalid_argument(std::string(what) + ": malformed condensed layer (k < 1 or null values/indices)");
    if (!buffersPresent) throw std::invalid_argument(std::string(what) + ": null input or output buffer");
}

// Runs fn(part) for every part on the calling thread and up to threads - 1 workers of the forward's
// pool (worker_pool.cpp), which claim parts from a shared counter so that a worker slow to wake
// leaves its parts to the others. (LibTorch's parallel_for is serial in this non-OpenMP translation
// unit; starting threads per call cost ~20-50 us each.)
void runParts(int parts, int threads, const std::function<void(int)>& fn) {
    detail::runParallel(parts, std::min(threads, parts), fn);
}

int threadsFor(const CondensedView& layer, int64_t batch, int threads) {
    return chooseThreads(batch, layer.rows, layer.k, threads > 0 ? threads : at::get_num_threads());
}

// Boundaries of part `part` of `parts` over [0, n), multiples of `tile` inside (the AVX2 kernels' tiles
// are 8 wide, AVX-512's gather writes 16 inputs at a time).
std::pair<int64_t, int64_t> splitRange(int64_t n, int parts, int part, int64_t tile = 8) {
    const int64_t tiles = (n + tile - 1) / tile;
    auto at = [&](int p) { return std::min(n, tiles * p / parts * tile); };
    return {at(part), at(part + 1)};
}

// The forward's transpose into [blocks][n][block], split over the n features across threads.
void packParallel(const float* src, int64_t batch, int64_t n, int64_t block, float* dst, Isa isa, int threads) {
    auto pack = isa == Isa::Portable ? detail::packTransposedPortable : detail::packTransposedAvx2;
    const int parts = threads <= 1 ? 1 : static_cast<int>(std::min<int64_t>(2 * threads, (n + 7) / 8));
    runParts(parts, threads, [&](int part) {
        auto [f0, f1] = splitRange(n, parts, part);
        if (f0 < f1) pack(src, batch, n, block, dst, f0, f1);
    });
}

template <typename Index>
void scatterSample(const CondensedView& L, const float* gy, float* gx) {
    const auto* indices = static_cast<const Index*>(L.indices);
    std::fill(gx, gx + L.inFeatures, 0.0f);
    for (int64_t r = 0; r < L.rows; ++r) {
        const float g = gy[r];
        const float* v = L.values + r * L.k;
        const Index* idx = indices + r * L.k;
        for (int64_t j = 0; j < L.k; ++j) gx[idx[j]] += g * v[j];
    }
}

// B (< kMinBlockedBatch) known at compile time: with a run-time batch the compiler vectorised the
// loop over the batch and ran batch 1 several times slower than this plain loop.
template <int B, typename Index>
void dotSmallBatch(const CondensedView& L, const float* x, const float* gy, float* gv, int64_t r0, int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    for (int64_t r = r0; r < r1; ++r) {
        float g[B];
        for (int b = 0; b < B; ++b) g[b] = gy[b * L.rows + r];
        const Index* idx = indices + r * L.k;
        for (int64_t j = 0; j < L.k; ++j) {
            float s = 0.0f;
            for (int b = 0; b < B; ++b) s += g[b] * x[b * L.inFeatures + idx[j]];
            gv[r * L.k + j] = s;
        }
    }
}

template <typename Index>
void dotSmallBatchAny(const CondensedView& L, const float* x, const float* gy, int64_t batch, float* gv, int64_t r0,
                      int64_t r1) {
    static_assert(kMinBlockedBatch == 4, "one instantiation per batch below kMinBlockedBatch");
    if (batch == 1) dotSmallBatch<1, Index>(L, x, gy, gv, r0, r1);
    else if (batch == 2) dotSmallBatch<2, Index>(L, x, gy, gv, r0, r1);
    else dotSmallBatch<3, Index>(L, x, gy, gv, r0, r1);
}

// Compressed columns of the layer (see detail::Columns); within a column, entries keep row order.
template <typename Index>
void buildColumns(const CondensedView& L, std::vector<int64_t>& start, std::vector<int32_t>& row,
                  std::vector<float>& value) {
    const auto* indices = static_cast<const Index*>(L.indices);
    const int64_t nnz = L.rows * L.k;
    start.assign(static_cast<size_t>(L.inFeatures + 1), 0);
    for (int64_t e = 0; e < nnz; ++e) ++start[static_cast<size_t>(indices[e]) + 1];
    for (int64_t i = 0; i < L.inFeatures; ++i) start[static_cast<size_t>(i + 1)] += start[static_cast<size_t>(i)];
    std::vector<int64_t> cursor(start.begin(), start.end() - 1);
    row.resize(static_cast<size_t>(nnz));
    value.resize(static_cast<size_t>(nnz));
    for (int64_t r = 0; r < L.rows; ++r)
        for (int64_t j = 0; j < L.k; ++j) {
            const int64_t at = cursor[static_cast<size_t>(indices[r * L.k + j])]++;
            row[static_cast<size_t>(at)] = static_cast<int32_t>(r);
            value[static_cast<size_t>(at)] = L.values[r * L.k + j];
        }
}

} // namespace

void condensedGradInput(const CondensedView& layer, const float* gy, int64_t batch, float* gx, Isa isa,
                        int threads) {
    const char* what = "condensedGradInput";
    if (batch <= 0) {
        checkArguments(what, layer, isa, true);
        return;
    }
    checkArguments(what, layer, isa, gx && (gy || layer.rows == 0));
    const int64_t inF = layer.inFeatures;
    if (layer.rows == 0) {
        std::fill(gx, gx + batch * inF, 0.0f);
        return;
    }
    const int useThreads = threadsFor(layer, batch, threads);

    if (batch < kMinBlockedBatch) {
        runParts(static_cast<int>(batch), useThreads, [&](int b) {
            if (layer.indices16) scatterSample<int16_t>(layer, gy + b * layer.rows, gx + b * inF);
            else scatterSample<int32_t>(layer, gy + b * layer.rows, gx + b * inF);
        });
        return;
    }

    const int64_t block = blockFor(batch);
    const int64_t blocks = (batch + block - 1) / block;
    std::vector<float> gyT(static_cast<size_t>(blocks * layer.rows * block));
    packParallel(gy, batch, layer.rows, block, gyT.data(), isa, useThreads);

    if (batch < kMinGatherBatch) {
        // Each block of batch columns is one part: its thread scatters into a private transposed gxT
        // [inFeatures][block] (one broadcast value times `block` contiguous gy values per kept weight)
        // and then writes those whole gx rows, so no two threads touch the same gx element.
        auto scatter = isa == Isa::Portable ? detail::scatterRowsPortable : detail::scatterRowsAvx2;
        runParts(static_cast<int>(blocks), useThreads, [&](int blk) {
            std::vector<float> gxT(static_cast<size_t>(inF * block), 0.0f);
            scatter(layer, gyT.data() + blk * layer.rows * block, block, gxT.data());
            const int64_t b0 = blk * block, nb = std::min(block, batch - b0);
            // Back to [batch, inFeatures] in tiles of 16 features, so both sides stay in L1.
            for (int64_t ft = 0; ft < inF; ft += 16) {
                const int64_t fe = std::min(inF, ft + 16);
                for (int64_t w = 0; w < nb; ++w) {
                    float* dst = gx + (b0 + w) * inF;
                    for (int64_t f = ft; f < fe; ++f) dst[f] = gxT[static_cast<size_t>(f * block + w)];
                }
            }
        });
        return;
    }

    // Gathering over the transposed layer keeps each input's `block` sums in registers and writes them
    // once, like the forward; parts are (batch block, input range) tiles of gx, disjoint.
    std::vector<int64_t> start;
    std::vector<int32_t> row;
    std::vector<float> value;
    if (layer.indices16) buildColumns<int16_t>(layer, start, row, value);
    else buildColumns<int32_t>(layer, start, row, value);
    const detail::GatherKernel gather = detail::gatherKernelFor(isa, block);
    const int64_t tile = gather.tile;
    const int featureParts =
        useThreads <= 1 ? 1 : static_cast<int>(std::min<int64_t>(2 * useThreads, (inF + tile - 1) / tile));
    runParts(static_cast<int>(blocks) * featureParts, useThreads, [&](int part) {
        const int64_t blk = part / featureParts;
        auto [f0, f1] = splitRange(inF, featureParts, part % featureParts, tile);
        if (f0 >= f1) return;
        detail::GatherArgs args;
        args.cols = {start.data(), row.data(), value.data()};
        args.gyT = gyT.data() + blk * layer.rows * block;
        args.block = block;
        args.inFeatures = inF;
        args.gx = gx;
        args.b0 = blk * block;
        args.nb = std::min(block, batch - args.b0);
        gather.run(args, f0, f1);
    });
}

void condensedGradValues(const CondensedView& layer, const float* x, const float* gy, int64_t batch, float* gv,
                         Isa isa, int threads) {
    const char* what = "condensedGradValues";
    checkArguments(what, layer, isa, layer.rows == 0 || (gv && (batch <= 0 || (x && gy))));
    if (layer.rows == 0) return;
    if (batch <= 0) {
        std::fill(gv, gv + layer.rows * layer.k, 0.0f);
        return;
    }
    const int useThreads = threadsFor(layer, batch, threads);
    // A few parts per thread, so that a helper slow to start leaves small pieces to the others.
    const int rowParts =
        useThreads <= 1 ? 1 : static_cast<int>(std::min<int64_t>(4 * useThreads, (layer.rows + 7) / 8));

    if (batch < kMinBlockedBatch) {
        runParts(rowParts, useThreads, [&](int part) {
            auto [r0, r1] = splitRange(layer.rows, rowParts, part);
            if (layer.indices16) dotSmallBatchAny<int16_t>(layer, x, gy, batch, gv, r0, r1);
            else dotSmallBatchAny<int32_t>(layer, x, gy, batch, gv, r0, r1);
        });
        return;
    }

    // Both operands transposed into blocks of batch columns: each kept weight's dot over a block is then
    // `block` contiguous gy values (held in registers for the whole row) against `block` contiguous x
    // values at its input. Blocks run in the outer loop so one block of xT stays in L2.
    const int64_t block = blockFor(batch);
    const int64_t blocks = (batch + block - 1) / block;
    std::vector<float> gyT(static_cast<size_t>(blocks * layer.rows * block));
    std::vector<float> xT(static_cast<size_t>(blocks * layer.inFeatures * block));
    packParallel(gy, batch, layer.rows, block, gyT.data(), isa, useThreads);
    packParallel(x, batch, layer.inFeatures, block, xT.data(), isa, useThreads);
    std::fill(gv, gv + layer.rows * layer.k, 0.0f);
    auto dot = isa == Isa::Portable ? detail::dotRowsPortable : detail::dotRowsAvx2; // on AVX-512 CPUs too
    runParts(rowParts, useThreads, [&](int part) {
        auto [r0, r1] = splitRange(layer.rows, rowParts, part);
        if (r0 >= r1) return;
        for (int64_t blk = 0; blk < blocks; ++blk)
            dot(layer, gyT.data() + blk * layer.rows * block, xT.data() + blk * layer.inFeatures * block, block, gv,
                r0, r1);
    });
}

// ---------------------------------------------------------------------------------------------
// Portable block kernels

namespace detail {
namespace {

// GCC/Clang vectors of four floats: the plain loops were not vectorised (the fixed-length inner
// loops are unrolled first) and ran 4-7x slower than the AVX2 kernels. 16 bytes is SSE2/NEON width,
// so no ABI change and no wider instruction set is assumed.
typedef float Vec4 __attribute__((vector_size(16)));

inline Vec4 load4(const float* p) {
    Vec4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <int64_t W>
void gatherCols(const GatherArgs& a, int64_t f0, int64_t f1) {
    // Sixteen columns (four vectors) at a time with two entries in flight: eight independent add chains
    // that fit the sixteen SSE registers. gyT rows are padded to W, so whole vectors can be read.
    constexpr int64_t C = W < 16 ? W : 16, N = C / 4;
    for (int64_t i = f0; i < f1; ++i) {
        const int64_t begin = a.cols.start[i], end = a.cols.start[i + 1];
        for (int64_t w0 = 0; w0 < a.nb; w0 += C) {
            Vec4 acc0[N] = {}, acc1[N] = {};
            int64_t e = begin;
            for (; e + 2 <= end; e += 2) {
                const float v0 = a.cols.value[e], v1 = a.cols.value[e + 1];
                const float* g0 = a.gyT + static_cast<int64_t>(a.cols.row[e]) * W + w0;
                const float* g1 = a.gyT + static_cast<int64_t>(a.cols.row[e + 1]) * W + w0;
                for (int64_t n = 0; n < N; ++n) {
                    acc0[n] += v0 * load4(g0 + 4 * n);
                    acc1[n] += v1 * load4(g1 + 4 * n);
                }
            }
            if (e < end) {
                const float v = a.cols.value[e];
                const float* g = a.gyT + static_cast<int64_t>(a.cols.row[e]) * W + w0;
                for (int64_t n = 0; n < N; ++n) acc0[n] += v * load4(g + 4 * n);
            }
            float sums[C];
            for (int64_t n = 0; n < N; ++n) {
                const Vec4 total = acc0[n] + acc1[n];
                std::memcpy(sums + 4 * n, &total, sizeof total);
            }
            for (int64_t l = 0; l < C && w0 + l < a.nb; ++l) a.gx[(a.b0 + w0 + l) * a.inFeatures + i] = sums[l];
        }
    }
}

inline void store4(float* p, Vec4 v) { std::memcpy(p, &v, sizeof v); }

template <int64_t W, typename Index>
void scatterRowsBlock(const CondensedView& L, const float* gyT, float* gxT) {
    const auto* indices = static_cast<const Index*>(L.indices);
    for (int64_t r = 0; r < L.rows; ++r) {
        // The row's gy block stays in registers for all its k weights.
        Vec4 g[W / 4];
        for (int64_t n = 0; n < W / 4; ++n) g[n] = load4(gyT + r * W + 4 * n);
        const float* v = L.values + r * L.k;
        const Index* idx = indices + r * L.k;
        for (int64_t j = 0; j < L.k; ++j) {
            float* p = gxT + static_cast<int64_t>(idx[j]) * W;
            for (int64_t n = 0; n < W / 4; ++n) store4(p + 4 * n, load4(p + 4 * n) + v[j] * g[n]);
        }
    }
}

template <int64_t W, typename Index>
void dotRowsBlock(const CondensedView& L, const float* gyT, const float* xT, float* gv, int64_t r0, int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    for (int64_t r = r0; r < r1; ++r) {
        Vec4 g[W / 4];
        for (int64_t n = 0; n < W / 4; ++n) g[n] = load4(gyT + r * W + 4 * n);
        const Index* idx = indices + r * L.k;
        for (int64_t j = 0; j < L.k; ++j) {
            const float* p = xT + static_cast<int64_t>(idx[j]) * W;
            Vec4 acc0 = g[0] * load4(p), acc1 = g[1] * load4(p + 4);
            for (int64_t n = 2; n < W / 4; n += 2) {
                acc0 += g[n] * load4(p + 4 * n);
                acc1 += g[n + 1] * load4(p + 4 * n + 4);
            }
            const Vec4 s = acc0 + acc1;
            gv[r * L.k + j] += (s[0] + s[1]) + (s[2] + s[3]);
        }
    }
}

} // namespace

void scatterRowsPortable(const CondensedView& layer, const float* gyT, int64_t block, float* gxT) {
    withBlockAndIndex(block, layer.indices16, [&](auto width, auto index) {
        scatterRowsBlock<decltype(width)::value, decltype(index)>(layer, gyT, gxT);
    });
}

void gatherColsPortable(const GatherArgs& args, int64_t f0, int64_t f1) {
    withBlock(args.block, [&](auto width) { gatherCols<decltype(width)::value>(args, f0, f1); });
}

void dotRowsPortable(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv,
                     int64_t r0, int64_t r1) {
    withBlockAndIndex(block, layer.indices16, [&](auto width, auto index) {
        dotRowsBlock<decltype(width)::value, decltype(index)>(layer, gyT, xT, gv, r0, r1);
    });
}

GatherKernel gatherKernelFor(Isa isa, int64_t block) {
    if (isa == Isa::Avx512 && block >= 16) return {avx512Kernels().gather, 16};
    return {isa == Isa::Portable ? gatherColsPortable : gatherColsAvx2, 8};
}

} // namespace detail
} // namespace srigl::kernels
