// AVX2 + FMA kernels for condensed constant fan-in layers. Only these functions use the wider
// instructions (target attribute), so the engine still runs on any x86-64; dispatch checks the CPU.
#include "engine/kernels/condensed_kernels.hpp"

#include <algorithm>
#include <stdexcept>

#if defined(__x86_64__)
#include <immintrin.h>

#define SRIGL_AVX2 __attribute__((target("avx2,fma")))

#include "engine/kernels/avx2_transpose.hpp"

namespace srigl::kernels::detail {
namespace {

SRIGL_AVX2 inline float horizontalSum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Eight x values by scalar loads inserted into a vector. Measured on Zen 3 (768 x 3072, k = 307, one
// thread): 94 us this way, 137 us with vgatherdps, 122 us with scalar FMAs. x is in L1, so the
// loads are cheap and the gather instruction's own overhead is what dominates it.
template <typename Index>
SRIGL_AVX2 inline __m256 load8(const float* x, const Index* i) {
    const __m128 lo = _mm_set_ps(x[i[3]], x[i[2]], x[i[1]], x[i[0]]);
    const __m128 hi = _mm_set_ps(x[i[7]], x[i[6]], x[i[5]], x[i[4]]);
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}

// Batch 1: y[r] = bias[r] + sum_j values[r, j] * x[idx[r, j]], 8 pairs per vector. Four
// accumulators keep four independent chains in flight; the tail (k % 8) is scalar.
template <typename Index>
SRIGL_AVX2 void gemvRows(const CondensedView& L, const float* x, float* y, int64_t r0, int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    const int64_t k = L.k;
    for (int64_t r = r0; r < r1; ++r) {
        const float* v = L.values + r * k;
        const Index* idx = indices + r * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
               a3 = _mm256_setzero_ps();
        int64_t j = 0;
        for (; j + 32 <= k; j += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j), load8(x, idx + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j + 8), load8(x, idx + j + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j + 16), load8(x, idx + j + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j + 24), load8(x, idx + j + 24), a3);
        }
        for (; j + 8 <= k; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j), load8(x, idx + j), a0);
        float s = horizontalSum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; j < k; ++j) s += v[j] * x[idx[j]];
        y[r] = (L.bias ? L.bias[r] : 0.0f) + s;
    }
}

// One row against one block of W = 8 * NV batch columns: out[w] = bias + sum_j v[j] * xb[idx[j], w].
// U independent accumulator sets (pairs j, j+1, ... go to different sets) so that U * NV FMA
// chains are in flight: Zen 3 needs ~8 (two FMA pipes, 4-cycle latency).
template <int NV, int U, typename Index>
SRIGL_AVX2 inline void rowBlock(const float* v, const Index* idx, int64_t k, const float* xb, float bias,
                                float* out) {
    constexpr int64_t W = 8 * NV;
    __m256 acc[U][NV];
    for (int u = 0; u < U; ++u)
        for (int i = 0; i < NV; ++i) acc[u][i] = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + U <= k; j += U) {
#pragma GCC unroll 8
        for (int u = 0; u < U; ++u) {
            const float* p = xb + static_cast<int64_t>(idx[j + u]) * W;
            const __m256 vv = _mm256_broadcast_ss(v + j + u);
#pragma GCC unroll 8
            for (int i = 0; i < NV; ++i) acc[u][i] = _mm256_fmadd_ps(vv, _mm256_load_ps(p + 8 * i), acc[u][i]);
        }
    }
    for (; j < k; ++j) {
        const float* p = xb + static_cast<int64_t>(idx[j]) * W;
        const __m256 vv = _mm256_broadcast_ss(v + j);
        for (int i = 0; i < NV; ++i) acc[0][i] = _mm256_fmadd_ps(vv, _mm256_load_ps(p + 8 * i), acc[0][i]);
    }
    const __m256 b = _mm256_set1_ps(bias);
    for (int i = 0; i < NV; ++i) {
        __m256 s = acc[0][i];
        for (int u = 1; u < U; ++u) s = _mm256_add_ps(s, acc[u][i]);
        _mm256_store_ps(out + 8 * i, _mm256_add_ps(b, s));
    }
}

// Rows [r0, r1) for every batch block. Blocks outside, rows inside: one block of xT (384 KiB for
// 3072 inputs at W = 32) stays in L2 while all rows of this thread stream their values and indices.
// Results go through an 8-row tile so y [batch, rows] is written 8 contiguous floats at a time.
template <int NV, typename Index>
SRIGL_AVX2 void gemmRows(const BatchedArgs& a, int64_t r0, int64_t r1) {
    constexpr int64_t W = 8 * NV;
    constexpr int U = NV >= 8 ? 1 : 8 / NV;
    const CondensedView& L = *a.layer;
    const auto* indices = static_cast<const Index*>(L.indices);
    const int64_t blocks = (a.batch + W - 1) / W, rows = L.rows, k = L.k;
    alignas(64) float tile[8 * W];
    for (int64_t blk = 0; blk < blocks; ++blk) {
        const float* xb = a.xT + blk * L.inFeatures * W;
        const int64_t b0 = blk * W, nb = std::min(W, a.batch - b0);
        for (int64_t rg = r0; rg < r1; rg += 8) {
            const int64_t nr = std::min<int64_t>(8, r1 - rg);
            for (int64_t i = 0; i < nr; ++i) {
                const int64_t r = rg + i;
                rowBlock<NV, U, Index>(L.values + r * k, indices + r * k, k, xb, L.bias ? L.bias[r] : 0.0f,
                                       tile + i * W);
            }
            int64_t w0 = 0;
            if (nr == 8)
                for (; w0 + 8 <= nb; w0 += 8) transpose8x8(tile + w0, W, a.y + (b0 + w0) * rows + rg, rows);
            for (int64_t w = w0; w < nb; ++w)
                for (int64_t i = 0; i < nr; ++i) a.y[(b0 + w) * rows + rg + i] = tile[i * W + w];
        }
    }
}

template <typename Index>
void gemmRowsAnyBlock(const BatchedArgs& a, int64_t r0, int64_t r1) {
    switch (a.block) {
    case 8: return gemmRows<1, Index>(a, r0, r1);
    case 16: return gemmRows<2, Index>(a, r0, r1);
    case 32: return gemmRows<4, Index>(a, r0, r1);
    case 64: return gemmRows<8, Index>(a, r0, r1);
    default: throw std::logic_error("condensed kernels: unsupported batch block");
    }
}

} // namespace

void gemvRowsAvx2(const CondensedView& layer, const float* x, float* y, int64_t r0, int64_t r1) {
    if (layer.indices16) gemvRows<int16_t>(layer, x, y, r0, r1);
    else gemvRows<int32_t>(layer, x, y, r0, r1);
}

void gemmRowsAvx2(const BatchedArgs& args, int64_t r0, int64_t r1) {
    if (args.layer->indices16) gemmRowsAnyBlock<int16_t>(args, r0, r1);
    else gemmRowsAnyBlock<int32_t>(args, r0, r1);
}

// x [batch, inF] -> xT [blocks][inF][block] for features [f0, f1), by 8x8 register transposes;
// columns past the batch are zero so the kernels never branch on a partial block.
SRIGL_AVX2 void packTransposedAvx2(const float* x, int64_t batch, int64_t inF, int64_t block, float* xT,
                                   int64_t f0, int64_t f1) {
    const int64_t blocks = (batch + block - 1) / block;
    for (int64_t blk = 0; blk < blocks; ++blk) {
        float* dst = xT + blk * inF * block;
        const int64_t b0 = blk * block, nb = std::min(block, batch - b0);
        for (int64_t f = f0; f < f1; f += 8) {
            const int64_t nf = std::min<int64_t>(8, f1 - f);
            for (int64_t w0 = 0; w0 < block; w0 += 8) {
                if (nf == 8 && w0 + 8 <= nb) {
                    transpose8x8(x + (b0 + w0) * inF + f, inF, dst + f * block + w0, block);
                    continue;
                }
                for (int64_t c = 0; c < nf; ++c)
                    for (int64_t w = w0; w < w0 + 8; ++w)
                        dst[(f + c) * block + w] = w < nb ? x[(b0 + w) * inF + f + c] : 0.0f;
            }
        }
    }
}

} // namespace srigl::kernels::detail

#else // not x86-64: only the portable kernels exist; dispatch never selects these.

namespace srigl::kernels::detail {
void gemvRowsAvx2(const CondensedView& layer, const float* x, float* y, int64_t r0, int64_t r1) {
    gemvRowsPortable(layer, x, y, r0, r1);
}
void gemmRowsAvx2(const BatchedArgs& args, int64_t r0, int64_t r1) { gemmRowsPortable(args, r0, r1); }
void packTransposedAvx2(const float* x, int64_t batch, int64_t inF, int64_t block, float* xT, int64_t f0,
                        int64_t f1) {
    packTransposedPortable(x, batch, inF, block, xT, f0, f1);
}
} // namespace srigl::kernels::detail

#endif
