// Condensed constant fan-in kernels: instruction-set detection, the thread split, the dispatch to the
// per-ISA kernels, and the portable (plain C++, auto-vectorised) kernels that run on any CPU.
#include "engine/kernels/condensed_kernels.hpp"
#include "engine/kernels/avx512_dispatch.hpp"
#include "engine/kernels/condensed_internal.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

namespace srigl::kernels {
namespace {

// ---------------------------------------------------------------------------------------------
// Instruction sets

Isa hardwareIsa() {
    static const Isa best = [] {
#if defined(__x86_64__)
        __builtin_cpu_init();
        // __builtin_cpu_supports also checks that the OS saves the wider registers (XGETBV).
        if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
        return Isa::Portable;
    }();
    return best;
}

int rank(Isa isa) { return isa == Isa::Avx512 ? 2 : isa == Isa::Avx2 ? 1 : 0; }

// The hardware's best, or AVX-512 where a test installed the emulated kernels (avx512_dispatch.hpp).
Isa usableIsa() { return detail::avx512Emulated() ? Isa::Avx512 : hardwareIsa(); }

// Splits [0, n) into `parts` ranges whose inner boundaries are multiples of `align` (the batched
// kernels write y in tiles of 8 rows).
std::pair<int64_t, int64_t> partRangeImpl(int64_t n, int parts, int part, int64_t align) {
    const int64_t chunks = (n + align - 1) / align;
    const int64_t per = chunks / parts, extra = chunks % parts;
    const int64_t c0 = part * per + std::min<int64_t>(part, extra);
    const int64_t c1 = c0 + per + (part < extra ? 1 : 0);
    return {std::min(n, c0 * align), std::min(n, c1 * align)};
}

// ---------------------------------------------------------------------------------------------
// Batched layout
//
// Why transpose: gathering x[b, idx] for one batch row at a time (the paper's kernel) costs one
// gather lane per multiply-add, and gathers are slow. With x transposed to [inFeatures, block],
// the `block` batch values of one input feature are contiguous, so each (value, index) pair of a
// row becomes one broadcast and block/8 plain vector loads + FMAs into register accumulators.

// Batch columns per block. Wider blocks amortise the per-pair index load and broadcast over more
// FMAs, up to the point where the block of xT leaves L2. Measured on Zen 3 (768 x 3072, k = 307,
// batch 256, one thread, 512 KiB L2): time per batch column is 1.45 at 8 columns, 1.02 at 16,
// 1.0 at 32 (a 384 KiB block) and 1.3-1.9 at 64 (768 KiB, spills to L3), so 64 is never used. The
// block that costs least for this batch wins, padding included (batch 33: 3 x 16, not 2 x 32).
int64_t blockFor(int64_t batch) {
    struct Option {
        int64_t block;
        double costPerColumn;
    };
    // The same on every instruction set, so that results do not depend on it (AVX-512 runs the AVX2
    // kernel on blocks of 8: one zmm register holds 16 columns).
    static constexpr Option options[] = {{8, 1.45}, {16, 1.02}, {32, 1.0}};
    int64_t best = 0;
    double bestCost = 0;
    for (const auto& o : options) {
        const double cost = static_cast<double>((batch + o.block - 1) / o.block * o.block) * o.costPerColumn;
        if (best == 0 || cost < bestCost) best = o.block, bestCost = cost;
    }
    return best;
}

// Work (multiply-adds) each thread must get before a second one is used. One Zen 3 core at
// 2.25 GHz does ~2.5 multiply-adds per ns at batch 1 (768 x 3072, k = 307: 94 us) and ~10 per ns
// batched. Handing parts to a sleeping worker costs a futex wake-up (~5-10 us) per pool job, and the
// batched path has two jobs (transpose, then rows); measured on the shared 2-core machine, 99%
// sparsity at batch 8 (190K multiply-adds, 24 us on one thread) took 40 us on two. From 256K
// multiply-adds (~100 us at batch 1) the split pays even when the worker has to be woken. (On that
// machine the second core was mostly busy with other work, so two threads rarely beat one at
// batch 1; the parts-stealing pool keeps them from losing. Re-measure on an idle machine.)
constexpr int64_t kMinWorkPerThread = 128 * 1024;

} // namespace

namespace detail {
int64_t forwardBlock(int64_t batch) { return blockFor(batch); }
int partsFor(int64_t n, int threads, int perThread) {
    return threads <= 1 ? 1 : static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(perThread * threads, (n + 7) / 8)));
}
std::pair<int64_t, int64_t> partRange(int64_t n, int parts, int part, int64_t align) {
    return partRangeImpl(n, parts, part, align);
}
} // namespace detail

using detail::partRange;

// ---------------------------------------------------------------------------------------------
// Public functions

Isa detectIsa() {
    const Isa hw = usableIsa();
    const char* env = std::getenv("SRIGL_KERNEL_ISA");
    if (!env) return hw;
    std::string name(env);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Isa wanted = hw;
    if (name == "portable") wanted = Isa::Portable;
    else if (name == "avx2") wanted = Isa::Avx2;
    else if (name == "avx512") wanted = Isa::Avx512;
    // The variable can only lower the choice: a set the CPU lacks would crash.
    return rank(wanted) < rank(hw) ? wanted : hw;
}

bool isaSupported(Isa isa) { return rank(isa) <= rank(usableIsa()); }

std::string toString(Isa isa) {
    switch (isa) {
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    }
    return "unknown";
}

int chooseThreads(int64_t batch, int64_t rows, int64_t k, int maxThreads) {
    if (maxThreads <= 1) return 1;
    const int64_t work = batch * rows * k;
    const int64_t byWork = std::max<int64_t>(1, work / kMinWorkPerThread);
    const int64_t byRows = std::max<int64_t>(1, (rows + 7) / 8); // parts of at least 8 rows
    return static_cast<int>(std::min<int64_t>({maxThreads, byWork, byRows}));
}

void condensedForward(const CondensedView& layer, const float* x, int64_t batch, float* y, Isa isa,
                      int threads) {
    if (!isaSupported(isa))
        throw std::invalid_argument("condensedForward: instruction set " + toString(isa) +
                                    " is not supported by this CPU");
    if (batch <= 0 || layer.rows <= 0) return;
    if (!x || !y || !layer.values || !layer.indices || layer.k < 1 || layer.inFeatures < 1)
        throw std::invalid_argument("condensedForward: malformed condensed layer or null buffers");

    const int maxThreads = threads > 0 ? threads : at::get_num_threads();
    const int useThreads = chooseThreads(batch, layer.rows, layer.k, maxThreads);

    // Batch 1: one vector of 8 (value, index) pairs at a time, x (12 KiB for 3072 inputs) in L1. AVX-512
    // CPUs run the AVX2 kernel too: it builds each vector from scalar loads, which beat the gather
    // instruction on AMD Zen 5 as on Zen 3 (768 x 3072 at 90%, one thread: 47 us against 79 us with
    // 16-lane vgatherdps, and 6 us against 11 us at 99%, where a row's k % 16 tail weighs more).
    if (batch == 1) {
        auto gemv = isa == Isa::Portable ? detail::gemvRowsPortable : detail::gemvRowsAvx2;
        const int rowParts = detail::partsFor(layer.rows, useThreads, 4);
        detail::runParallel(rowParts, useThreads, [&](int part) {
            auto [r0, r1] = partRange(layer.rows, rowParts, part, 8);
            if (r0 < r1) gemv(layer, x, y, r0, r1);
        });
        return;
    }

    // Batched: transpose x into blocks of `block` columns, then multiply. The transpose is split over
    // input features. (AVX-512 CPUs all have AVX2, so they share the AVX2 transpose.)
    const int64_t block = blockFor(batch);
    const int64_t blocks = (batch + block - 1) / block;
    float* xT = detail::threadScratch<0>(static_cast<size_t>(blocks * layer.inFeatures * block));
    auto pack = isa == Isa::Portable ? detail::packTransposedPortable : detail::packTransposedAvx2;
    const int64_t inF = layer.inFeatures;
    const int packParts = detail::partsFor(inF, useThreads, 4);
    detail::runParallel(packParts, useThreads, [&](int part) {
        auto [f0, f1] = partRange(inF, packParts, part, 8);
        if (f0 < f1) pack(x, batch, inF, block, xT, f0, f1);
    });
    detail::multiplyBlocks(layer, xT, batch, block, y, isa, useThreads);
}

namespace detail {

// Parts are (batch block, row range) pairs in block order, so that the threads work through one block
// of xT at a time: each reads every block once from L3 into its L2. With row ranges outside and blocks
// inside, each part streamed all of xT again; measured on AMD Zen 5 (768 x 3072, 90%, batch 256, two
// threads): 1090-1250 us that way with 8 to 24 parts, 900-1040 us this way with 64 (and a late worker
// holds the caller for one small part).
void multiplyBlocks(const CondensedView& layer, const float* xT, int64_t batch, int64_t block, float* y, Isa isa,
                    int threads) {
    if (layer.rows <= 0 || batch <= 0) return;
    if (isa == Isa::Avx512 && block < 16) isa = Isa::Avx2; // blocks of 8: half a zmm register
    auto gemm = isa == Isa::Avx512 ? avx512Kernels().gemm : isa == Isa::Avx2 ? gemmRowsAvx2 : gemmRowsPortable;
    const int64_t blocks = (batch + block - 1) / block, inF = layer.inFeatures;
    const int rowParts = partsFor(layer.rows, threads, 4);
    runParallel(static_cast<int>(blocks) * rowParts, threads, [&](int part) {
        const int64_t blk = part / rowParts;
        auto [r0, r1] = partRange(layer.rows, rowParts, part % rowParts, 8);
        if (r0 >= r1) return;
        const int64_t b0 = blk * block;
        BatchedArgs args{&layer, xT + blk * inF * block, std::min(block, batch - b0), block, y + b0 * layer.rows};
        gemm(args, r0, r1);
    });
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// Portable kernels: plain loops the compiler vectorises with the baseline SSE2 of x86-64 (or NEON).

namespace detail {
namespace {

template <typename Index>
void gemvRows(const CondensedView& L, const float* x, float* y, int64_t r0, int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    for (int64_t r = r0; r < r1; ++r) {
        const float* v = L.values + r * L.k;
        const Index* idx = indices + r * L.k;
        // Four partial sums: independent chains hide the multiply-add latency.
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t j = 0;
        for (; j + 4 <= L.k; j += 4) {
            s0 += v[j] * x[idx[j]];
            s1 += v[j + 1] * x[idx[j + 1]];
            s2 += v[j + 2] * x[idx[j + 2]];
            s3 += v[j + 3] * x[idx[j + 3]];
        }
        for (; j < L.k; ++j) s0 += v[j] * x[idx[j]];
        y[r] = (L.bias ? L.bias[r] : 0.0f) + ((s0 + s1) + (s2 + s3));
    }
}

template <int64_t W, typename Index>
void gemmRows(const BatchedArgs& a, int64_t r0, int64_t r1) {
    const CondensedView& L = *a.layer;
    const auto* indices = static_cast<const Index*>(L.indices);
    const int64_t blocks = (a.batch + W - 1) / W;
    for (int64_t blk = 0; blk < blocks; ++blk) {
        const float* xb = a.xT + blk * L.inFeatures * W;
        const int64_t b0 = blk * W, nb = std::min(W, a.batch - b0);
        for (int64_t r = r0; r < r1; ++r) {
            const float* v = L.values + r * L.k;
            const Index* idx = indices + r * L.k;
            float acc[W] = {};
            for (int64_t j = 0; j < L.k; ++j) {
                const float vj = v[j];
                const float* p = xb + static_cast<int64_t>(idx[j]) * W;
                for (int64_t w = 0; w < W; ++w) acc[w] += vj * p[w];
            }
            const float b = L.bias ? L.bias[r] : 0.0f;
            for (int64_t w = 0; w < nb; ++w) a.y[(b0 + w) * L.rows + r] = b + acc[w];
        }
    }
}

template <typename Index>
void gemmRowsAnyBlock(const BatchedArgs& a, int64_t r0, int64_t r1) {
    switch (a.block) {
    case 8: return gemmRows<8, Index>(a, r0, r1);
    case 16: return gemmRows<16, Index>(a, r0, r1);
    case 32: return gemmRows<32, Index>(a, r0, r1);
    case 64: return gemmRows<64, Index>(a, r0, r1);
    default: throw std::logic_error("condensed kernels: unsupported batch block");
    }
}

} // namespace

void gemvRowsPortable(const CondensedView& layer, const float* x, float* y, int64_t r0, int64_t r1) {
    if (layer.indices16) gemvRows<int16_t>(layer, x, y, r0, r1);
    else gemvRows<int32_t>(layer, x, y, r0, r1);
}

void gemmRowsPortable(const BatchedArgs& args, int64_t r0, int64_t r1) {
    if (args.layer->indices16) gemmRowsAnyBlock<int16_t>(args, r0, r1);
    else gemmRowsAnyBlock<int32_t>(args, r0, r1);
}

void packTransposedPortable(const float* x, int64_t batch, int64_t inF, int64_t block, float* xT, int64_t f0,
                            int64_t f1) {
    // Tiles of 16 features (one cache line of each x row) keep both sides' lines in L1.
    const int64_t blocks = (batch + block - 1) / block;
    for (int64_t blk = 0; blk < blocks; ++blk) {
        float* dst = xT + blk * inF * block;
        const int64_t b0 = blk * block, nb = std::min(block, batch - b0);
        for (int64_t ft = f0; ft < f1; ft += 16) {
            const int64_t fe = std::min(f1, ft + 16);
            for (int64_t w = 0; w < block; ++w) {
                if (w < nb) {
                    const float* src = x + (b0 + w) * inF;
                    for (int64_t f = ft; f < fe; ++f) dst[f * block + w] = src[f];
                } else {
                    for (int64_t f = ft; f < fe; ++f) dst[f * block + w] = 0.0f;
                }
            }
        }
    }
}

} // namespace detail
} // namespace srigl::kernels
