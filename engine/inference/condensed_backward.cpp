// Backward kernels of condensed constant fan-in layers: argument checks, the thread split, the dispatch
// to the per-ISA block kernels, and the portable kernels (plain C++ the compiler vectorises).
#include "engine/inference/condensed_backward.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace srigl::kernels {
namespace {

// Below this batch the transposed layout wastes most of its 8-column block on padding: the per-sample
// loops run instead.
constexpr int64_t kMinBlockedBatch = 4;

// Batch columns per block: wider blocks amortise each (value, index) load over more multiply-adds, as in
// the forward kernel; 32 columns of 3072 inputs (384 KiB) still fit a 512 KiB L2.
int64_t blockFor(int64_t batch) { return batch >= 64 ? 32 : batch >= 16 ? 16 : 8; }

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

// Runs fn(part) for every part on the calling thread and up to threads - 1 helper threads, which
// claim parts from a shared counter so that a helper slow to start leaves its parts to the others.
// The forward's worker pool is private to condensed_kernels.cpp and LibTorch's parallel_for is serial
// in this (non-OpenMP) translation unit; chooseThreads keeps the thread start-up cost (~20-50 us) to
// calls whose work is far larger.
void runParts(int parts, int threads, const std::function<void(int)>& fn) {
    threads = std::min(threads, parts);
    if (threads <= 1) {
        for (int p = 0; p < parts; ++p) fn(p);
        return;
    }
    std::atomic<int> next{0};
    auto work = [&] {
        for (int p = next.fetch_add(1); p < parts; p = next.fetch_add(1)) fn(p);
    };
    std::vector<std::thread> helpers;
    helpers.reserve(static_cast<size_t>(threads - 1));
    for (int t = 1; t < threads; ++t) helpers.emplace_back(work);
    work();
    for (auto& h : helpers) h.join();
}

int threadsFor(const CondensedView& layer, int64_t batch, int threads) {
    return chooseThreads(batch, layer.rows, layer.k, threads > 0 ? threads : at::get_num_threads());
}

// Boundaries of part `part` of `parts` over [0, n), multiples of 8 inside (the AVX2 kernels' tiles).
std::pair<int64_t, int64_t> splitRange(int64_t n, int parts, int part) {
    const int64_t tiles = (n + 7) / 8;
    auto at = [&](int p) { return std::min(n, tiles * p / parts * 8); };
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

template <typename Index>
void dotSmallBatch(const CondensedView& L, const float* x, const float* gy, int64_t batch, float* gv, int64_t r0,
                   int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    for (int64_t r = r0; r < r1; ++r) {
        const Index* idx = indices + r * L.k;
        for (int64_t j = 0; j < L.k; ++j) {
            float s = 0.0f;
            for (int64_t b = 0; b < batch; ++b) s += gy[b * L.rows + r] * x[b * L.inFeatures + idx[j]];
            gv[r * L.k + j] = s;
        }
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

    // Each block of batch columns is one part: its thread scatters into a private transposed gxT
    // [inFeatures][block] (one broadcast value times `block` contiguous gy values per kept weight) and
    // then writes those whole gx rows, so no two threads touch the same gx element.
    const int64_t block = blockFor(batch);
    const int64_t blocks = (batch + block - 1) / block;
    std::vector<float> gyT(static_cast<size_t>(blocks * layer.rows * block));
    packParallel(gy, batch, layer.rows, block, gyT.data(), isa, useThreads);
    auto scatter = isa == Isa::Portable ? detail::scatterRowsPortable : detail::scatterRowsAvx2;
    runParts(static_cast<int>(blocks), useThreads, [&](int blk) {
        std::vector<float> gxT(static_cast<size_t>(inF * block), 0.0f);
        scatter(layer, gyT.data() + blk * layer.rows * block, block, gxT.data(), 0, layer.rows);
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
            if (layer.indices16) dotSmallBatch<int16_t>(layer, x, gy, batch, gv, r0, r1);
            else dotSmallBatch<int32_t>(layer, x, gy, batch, gv, r0, r1);
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
    auto dot = isa == Isa::Portable ? detail::dotRowsPortable : detail::dotRowsAvx2;
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

template <int64_t W, typename Index>
void scatterRowsBlock(const CondensedView& L, const float* gyT, float* gxT, int64_t r0, int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    for (int64_t r = r0; r < r1; ++r) {
        float g[W];
        std::copy(gyT + r * W, gyT + (r + 1) * W, g);
        const float* v = L.values + r * L.k;
        const Index* idx = indices + r * L.k;
        for (int64_t j = 0; j < L.k; ++j) {
            const float vj = v[j];
            float* p = gxT + static_cast<int64_t>(idx[j]) * W;
            for (int64_t w = 0; w < W; ++w) p[w] += vj * g[w];
        }
    }
}

template <int64_t W, typename Index>
void dotRowsBlock(const CondensedView& L, const float* gyT, const float* xT, float* gv, int64_t r0, int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    for (int64_t r = r0; r < r1; ++r) {
        const float* g = gyT + r * W;
        const Index* idx = indices + r * L.k;
        for (int64_t j = 0; j < L.k; ++j) {
            const float* p = xT + static_cast<int64_t>(idx[j]) * W;
            // Eight lanes of partial sums: a single running sum would not vectorise (float addition
            // is not reassociated without -ffast-math).
            float acc[8] = {};
            for (int64_t w0 = 0; w0 < W; w0 += 8)
                for (int64_t l = 0; l < 8; ++l) acc[l] += g[w0 + l] * p[w0 + l];
            gv[r * L.k + j] += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        }
    }
}

// Calls Kernel<W, Index>::run for the run-time block width and index type.
template <template <int64_t, typename> class Kernel, typename... Args>
void dispatchBlock(const CondensedView& L, int64_t block, Args... args) {
    auto byIndex = [&](auto w) {
        constexpr int64_t W = decltype(w)::value;
        if (L.indices16) Kernel<W, int16_t>::run(L, args...);
        else Kernel<W, int32_t>::run(L, args...);
    };
    switch (block) {
    case 8: return byIndex(std::integral_constant<int64_t, 8>{});
    case 16: return byIndex(std::integral_constant<int64_t, 16>{});
    case 32: return byIndex(std::integral_constant<int64_t, 32>{});
    default: throw std::logic_error("condensed backward: unsupported batch block");
    }
}

template <int64_t W, typename Index>
struct ScatterKernel {
    static void run(const CondensedView& L, const float* gyT, float* gxT, int64_t r0, int64_t r1) {
        scatterRowsBlock<W, Index>(L, gyT, gxT, r0, r1);
    }
};

template <int64_t W, typename Index>
struct DotKernel {
    static void run(const CondensedView& L, const float* gyT, const float* xT, float* gv, int64_t r0, int64_t r1) {
        dotRowsBlock<W, Index>(L, gyT, xT, gv, r0, r1);
    }
};

} // namespace

void scatterRowsPortable(const CondensedView& layer, const float* gyT, int64_t block, float* gxT, int64_t r0,
                         int64_t r1) {
    dispatchBlock<ScatterKernel>(layer, block, gyT, gxT, r0, r1);
}

void dotRowsPortable(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv,
                     int64_t r0, int64_t r1) {
    dispatchBlock<DotKernel>(layer, block, gyT, xT, gv, r0, r1);
}

} // namespace detail
} // namespace srigl::kernels
