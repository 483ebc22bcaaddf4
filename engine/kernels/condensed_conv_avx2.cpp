// AVX2 + FMA inner loops of the direct condensed convolution (condensed_conv.hpp); AVX-512 CPUs run
// condensed_conv_avx512.cpp's 16-float versions instead. On Zen 3 these loops are bound by loads from L1
// (one per multiply-add).
#include "engine/kernels/condensed_conv.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

#define SRIGL_AVX2 __attribute__((target("avx2,fma")))

namespace srigl::kernels::detail {
namespace {

// Lanes [0, count) set, for the last partial vector of a row (masked loads never read past it).
SRIGL_AVX2 __m256i tailMask(int64_t count) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), lanes);
}

SRIGL_AVX2 float horizontalSum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Outputs [p, p + 8 * R) in R registers, each tap adding into all of them: R independent FMA chains.
// With MaskLast, the last register holds only the lanes `last` sets (the end of a pass).
template <int R, bool MaskLast>
SRIGL_AVX2 inline void sumRegisters(const float* src, const int32_t* offset, const float* v, int64_t k, __m256 start,
                                    int64_t p, __m256i last, float* out) {
    constexpr int whole = MaskLast ? R - 1 : R;
    __m256 a[R];
    for (auto& r : a) r = start;
    for (int64_t j = 0; j < k; ++j) {
        const __m256 w = _mm256_broadcast_ss(v + j);
        const float* s = src + offset[j] + p;
        for (int t = 0; t < whole; ++t) a[t] = _mm256_fmadd_ps(w, _mm256_loadu_ps(s + 8 * t), a[t]);
        if constexpr (MaskLast) a[R - 1] = _mm256_fmadd_ps(w, _mm256_maskload_ps(s + 8 * (R - 1), last), a[R - 1]);
    }
    for (int t = 0; t < whole; ++t) _mm256_storeu_ps(out + p + 8 * t, a[t]);
    if constexpr (MaskLast) _mm256_maskstore_ps(out + p + 8 * (R - 1), last, a[R - 1]);
}

} // namespace

SRIGL_AVX2 void shiftedSumAvx2(const float* src, const int32_t* offset, const float* v, int64_t k, int64_t length,
                               float init, float* out) {
    const __m256 start = _mm256_set1_ps(init);
    int64_t p = 0;
    // Eight independent accumulators (64 outputs) cover the FMA latency; each tap adds into all of them.
    for (; p + 64 <= length; p += 64) sumRegisters<8, false>(src, offset, v, k, start, p, __m256i(), out);
    // The rest of the pass (up to eight registers, the last one masked) in one loop over the taps too:
    // one register at a time waited on the FMA latency at every tap (a 32x32 image's pass ends in 31
    // outputs, four such loops in turn).
    const int64_t rest = length - p;
    if (rest <= 0) return;
    const __m256i last = tailMask(rest % 8 ? rest % 8 : 8);
    switch ((rest + 7) / 8) {
    case 1:
        return sumRegisters<1, true>(src, offset, v, k, start, p, last, out);
    case 2:
        return sumRegisters<2, true>(src, offset, v, k, start, p, last, out);
    case 3:
        return sumRegisters<3, true>(src, offset, v, k, start, p, last, out);
    case 4:
        return sumRegisters<4, true>(src, offset, v, k, start, p, last, out);
    case 5:
        return sumRegisters<5, true>(src, offset, v, k, start, p, last, out);
    case 6:
        return sumRegisters<6, true>(src, offset, v, k, start, p, last, out);
    case 7:
        return sumRegisters<7, true>(src, offset, v, k, start, p, last, out);
    default:
        return sumRegisters<8, true>(src, offset, v, k, start, p, last, out);
    }
}

SRIGL_AVX2 void shiftedDotsAvx2(const float* g, const float* src, const int32_t* offset, int64_t k, int64_t length,
                                float* acc) {
    const int64_t full = length / 8 * 8;
    const __m256i mask = tailMask(length - full);
    int64_t j = 0;
    // Four taps at a time share each load of g.
    for (; j + 4 <= k; j += 4) {
        const float* s[4] = {src + offset[j], src + offset[j + 1], src + offset[j + 2], src + offset[j + 3]};
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t p = 0; p < full; p += 8) {
            const __m256 gp = _mm256_loadu_ps(g + p);
            for (int t = 0; t < 4; ++t) a[t] = _mm256_fmadd_ps(gp, _mm256_loadu_ps(s[t] + p), a[t]);
        }
        if (full < length) {
            const __m256 gp = _mm256_maskload_ps(g + full, mask);
            for (int t = 0; t < 4; ++t) a[t] = _mm256_fmadd_ps(gp, _mm256_maskload_ps(s[t] + full, mask), a[t]);
        }
        for (int t = 0; t < 4; ++t) acc[j + t] += horizontalSum(a[t]);
    }
    for (; j < k; ++j) {
        const float* s = src + offset[j];
        __m256 a = _mm256_setzero_ps();
        for (int64_t p = 0; p < full; p += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(g + p), _mm256_loadu_ps(s + p), a);
        if (full < length)
            a = _mm256_fmadd_ps(_mm256_maskload_ps(g + full, mask), _mm256_maskload_ps(s + full, mask), a);
        acc[j] += horizontalSum(a);
    }
}

} // namespace srigl::kernels::detail

#endif
