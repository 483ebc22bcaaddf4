// AVX2 + FMA block kernels for the condensed backward pass (gathers over the transposed layer for the
// input gradient, dots for the weight gradient); only these use the wider instructions, dispatch checks.
#include "engine/kernels/condensed_backward.hpp"

#include <algorithm>
#include <stdexcept>

#if defined(__x86_64__)
#include <immintrin.h>

#define SRIGL_AVX2 __attribute__((target("avx2,fma")))

#include "engine/kernels/avx2_transpose.hpp"

namespace srigl::kernels::detail {
namespace {

// NV vectors of 8 batch columns per block (block = 8 * NV).
template <int NV, typename Index>
SRIGL_AVX2 void scatterRows(const CondensedView& L, const float* gyT, float* gxT) {
    const auto* indices = static_cast<const Index*>(L.indices);
    constexpr int64_t W = 8 * NV;
    for (int64_t r = 0; r < L.rows; ++r) {
        // The row's gy block stays in registers for all its k weights.
        __m256 g[NV];
        for (int n = 0; n < NV; ++n) g[n] = _mm256_loadu_ps(gyT + r * W + 8 * n);
        const float* v = L.values + r * L.k;
        const Index* idx = indices + r * L.k;
        for (int64_t j = 0; j < L.k; ++j) {
            const __m256 vj = _mm256_broadcast_ss(v + j);
            float* p = gxT + static_cast<int64_t>(idx[j]) * W;
            for (int n = 0; n < NV; ++n)
                _mm256_storeu_ps(p + 8 * n, _mm256_fmadd_ps(vj, g[n], _mm256_loadu_ps(p + 8 * n)));
        }
    }
}

// Two accumulator sets, so that with one
// vector per input (block 8) consecutive FMAs do not wait on each other.
template <int NV>
SRIGL_AVX2 void gatherCols(const GatherArgs& a, int64_t f0, int64_t f1) {
    constexpr int64_t W = 8 * NV;
    float tile[8][W]; // eight inputs' sums, written to the gx rows together
    for (int64_t t0 = f0; t0 < f1; t0 += 8) {
        const int64_t t1 = std::min(f1, t0 + 8);
        for (int64_t i = t0; i < t1; ++i) {
            __m256 acc0[NV], acc1[NV];
            for (int n = 0; n < NV; ++n) acc0[n] = acc1[n] = _mm256_setzero_ps();
            int64_t e = a.cols.start[i];
            const int64_t end = a.cols.start[i + 1];
            for (; e + 2 <= end; e += 2) {
                const __m256 v0 = _mm256_broadcast_ss(a.cols.value + e);
                const __m256 v1 = _mm256_broadcast_ss(a.cols.value + e + 1);
                const float* g0 = a.gyT + static_cast<int64_t>(a.cols.row[e]) * W;
                const float* g1 = a.gyT + static_cast<int64_t>(a.cols.row[e + 1]) * W;
                for (int n = 0; n < NV; ++n) {
                    acc0[n] = _mm256_fmadd_ps(v0, _mm256_loadu_ps(g0 + 8 * n), acc0[n]);
                    acc1[n] = _mm256_fmadd_ps(v1, _mm256_loadu_ps(g1 + 8 * n), acc1[n]);
                }
            }
            if (e < end) {
                const __m256 v = _mm256_broadcast_ss(a.cols.value + e);
                const float* g = a.gyT + static_cast<int64_t>(a.cols.row[e]) * W;
                for (int n = 0; n < NV; ++n) acc0[n] = _mm256_fmadd_ps(v, _mm256_loadu_ps(g + 8 * n), acc0[n]);
            }
            for (int n = 0; n < NV; ++n) _mm256_storeu_ps(tile[i - t0] + 8 * n, _mm256_add_ps(acc0[n], acc1[n]));
        }
        // Into gx [batch, inFeatures]: 8 x 8 register transposes for whole tiles, scalars for the rest.
        int64_t w0 = 0;
        if (t1 - t0 == 8)
            for (; w0 + 8 <= a.nb; w0 += 8) transpose8x8(&tile[0][w0], W, a.gx + (a.b0 + w0) * a.inFeatures + t0, a.inFeatures);
        for (int64_t w = w0; w < a.nb; ++w) {
            float* dst = a.gx + (a.b0 + w) * a.inFeatures;
            for (int64_t i = t0; i < t1; ++i) dst[i] = tile[i - t0][w];
        }
    }
}

// Eight vectors to the eight sums of their lanes, in order: three rounds of pairwise adds instead of
// eight separate horizontal sums.
SRIGL_AVX2 inline __m256 sum8x8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6,
                                __m256 a7) {
    const __m256 lo = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    const __m256 hi = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
    return _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20), _mm256_permute2f128_ps(lo, hi, 0x31));
}

SRIGL_AVX2 inline float horizontalSum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

template <int NV, typename Index>
SRIGL_AVX2 inline __m256 dotBlock(const __m256* g, const float* xT, Index index) {
    const float* p = xT + static_cast<int64_t>(index) * (8 * NV);
    __m256 acc = _mm256_mul_ps(g[0], _mm256_loadu_ps(p));
    for (int n = 1; n < NV; ++n) acc = _mm256_fmadd_ps(g[n], _mm256_loadu_ps(p + 8 * n), acc);
    return acc;
}

template <int NV, typename Index>
SRIGL_AVX2 void dotRows(const CondensedView& L, const float* gyT, const float* xT, float* gv, int64_t r0,
                        int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    constexpr int64_t W = 8 * NV;
    for (int64_t r = r0; r < r1; ++r) {
        __m256 g[NV];
        for (int n = 0; n < NV; ++n) g[n] = _mm256_loadu_ps(gyT + r * W + 8 * n);
        const Index* idx = indices + r * L.k;
        float* out = gv + r * L.k;
        int64_t j = 0;
        // Eight kept weights at a time: eight independent accumulator chains, reduced together.
        for (; j + 8 <= L.k; j += 8) {
            const __m256 s = sum8x8(dotBlock<NV>(g, xT, idx[j]), dotBlock<NV>(g, xT, idx[j + 1]),
                                    dotBlock<NV>(g, xT, idx[j + 2]), dotBlock<NV>(g, xT, idx[j + 3]),
                                    dotBlock<NV>(g, xT, idx[j + 4]), dotBlock<NV>(g, xT, idx[j + 5]),
                                    dotBlock<NV>(g, xT, idx[j + 6]), dotBlock<NV>(g, xT, idx[j + 7]));
            _mm256_storeu_ps(out + j, _mm256_add_ps(_mm256_loadu_ps(out + j), s));
        }
        for (; j < L.k; ++j) out[j] += horizontalSum(dotBlock<NV>(g, xT, idx[j]));
    }
}

} // namespace

void gatherColsAvx2(const GatherArgs& args, int64_t f0, int64_t f1) {
    withBlock(args.block, [&](auto width) { gatherCols<decltype(width)::value / 8>(args, f0, f1); });
}

void scatterRowsAvx2(const CondensedView& layer, const float* gyT, int64_t block, float* gxT) {
    withBlockAndIndex(block, layer.indices16, [&](auto width, auto index) {
        scatterRows<decltype(width)::value / 8, decltype(index)>(layer, gyT, gxT);
    });
}

void dotRowsAvx2(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv, int64_t r0,
                 int64_t r1) {
    withBlockAndIndex(block, layer.indices16, [&](auto width, auto index) {
        dotRows<decltype(width)::value / 8, decltype(index)>(layer, gyT, xT, gv, r0, r1);
    });
}

} // namespace srigl::kernels::detail

#else // not x86-64: only the portable kernels exist; dispatch never selects these.

namespace srigl::kernels::detail {
void scatterRowsAvx2(const CondensedView& layer, const float* gyT, int64_t block, float* gxT) {
    scatterRowsPortable(layer, gyT, block, gxT);
}
void gatherColsAvx2(const GatherArgs& args, int64_t f0, int64_t f1) { gatherColsPortable(args, f0, f1); }
void dotRowsAvx2(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv, int64_t r0,
                 int64_t r1) {
    dotRowsPortable(layer, gyT, xT, block, gv, r0, r1);
}
} // namespace srigl::kernels::detail

#endif
