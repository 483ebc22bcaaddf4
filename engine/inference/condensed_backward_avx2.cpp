// AVX2 + FMA block kernels for the condensed backward pass (scatter for the input gradient, dots for the
// weight gradient). Only these functions use the wider instructions; dispatch checks the CPU first.
#include "engine/inference/condensed_backward.hpp"

#include <stdexcept>

#if defined(__x86_64__)
#include <immintrin.h>

#define SRIGL_AVX2 __attribute__((target("avx2,fma")))

namespace srigl::kernels::detail {
namespace {

// NV vectors of 8 batch columns per block (block = 8 * NV).
template <int NV, typename Index>
SRIGL_AVX2 void scatterRows(const CondensedView& L, const float* gyT, float* gxT, int64_t r0, int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    constexpr int64_t W = 8 * NV;
    for (int64_t r = r0; r < r1; ++r) {
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

template <typename Index>
void scatterAnyBlock(const CondensedView& L, const float* gyT, int64_t block, float* gxT, int64_t r0, int64_t r1) {
    switch (block) {
    case 8: return scatterRows<1, Index>(L, gyT, gxT, r0, r1);
    case 16: return scatterRows<2, Index>(L, gyT, gxT, r0, r1);
    case 32: return scatterRows<4, Index>(L, gyT, gxT, r0, r1);
    default: throw std::logic_error("condensed backward (avx2): unsupported batch block");
    }
}

template <typename Index>
void dotAnyBlock(const CondensedView& L, const float* gyT, const float* xT, int64_t block, float* gv, int64_t r0,
                 int64_t r1) {
    switch (block) {
    case 8: return dotRows<1, Index>(L, gyT, xT, gv, r0, r1);
    case 16: return dotRows<2, Index>(L, gyT, xT, gv, r0, r1);
    case 32: return dotRows<4, Index>(L, gyT, xT, gv, r0, r1);
    default: throw std::logic_error("condensed backward (avx2): unsupported batch block");
    }
}

} // namespace

void scatterRowsAvx2(const CondensedView& layer, const float* gyT, int64_t block, float* gxT, int64_t r0,
                     int64_t r1) {
    if (layer.indices16) scatterAnyBlock<int16_t>(layer, gyT, block, gxT, r0, r1);
    else scatterAnyBlock<int32_t>(layer, gyT, block, gxT, r0, r1);
}

void dotRowsAvx2(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv, int64_t r0,
                 int64_t r1) {
    if (layer.indices16) dotAnyBlock<int16_t>(layer, gyT, xT, block, gv, r0, r1);
    else dotAnyBlock<int32_t>(layer, gyT, xT, block, gv, r0, r1);
}

} // namespace srigl::kernels::detail

#else // not x86-64: only the portable kernels exist; dispatch never selects these.

namespace srigl::kernels::detail {
void scatterRowsAvx2(const CondensedView& layer, const float* gyT, int64_t block, float* gxT, int64_t r0,
                     int64_t r1) {
    scatterRowsPortable(layer, gyT, block, gxT, r0, r1);
}
void dotRowsAvx2(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv, int64_t r0,
                 int64_t r1) {
    dotRowsPortable(layer, gyT, xT, block, gv, r0, r1);
}
} // namespace srigl::kernels::detail

#endif
