// AVX-512F inner loops of the direct condensed convolution (condensed_conv.hpp): the AVX2 loops of
// condensed_conv_avx2.cpp with 16-float registers, so one load feeds 16 multiply-adds instead of 8
// (those loops are bound by loads from L1). Partial vectors use masked loads and stores, which never
// touch memory past the row.
#include "engine/kernels/avx512_intrinsics.hpp"
#include "engine/kernels/avx512_lanes.hpp"
#include "engine/kernels/condensed_conv.hpp"

#if SRIGL_AVX512_KERNELS

SRIGL_AVX512_NAMESPACE_BEGIN

namespace {

// Outputs [p, p + 16 * R) in R registers, each tap adding into all of them: R independent FMA chains.
// With MaskLast, the last register holds only the lanes `last` sets (the end of a pass).
template <int R, bool MaskLast>
SRIGL_AVX512 inline void sumRegisters(const float* src, const int32_t* offset, const float* v, int64_t k, __m512 start,
                                      int64_t p, __mmask16 last, float* out) {
    constexpr int whole = MaskLast ? R - 1 : R;
    __m512 a[R];
    for (auto& r : a) r = start;
    for (int64_t j = 0; j < k; ++j) {
        const __m512 w = _mm512_set1_ps(v[j]);
        const float* s = src + offset[j] + p;
        for (int t = 0; t < whole; ++t) a[t] = _mm512_fmadd_ps(w, _mm512_loadu_ps(s + 16 * t), a[t]);
        if constexpr (MaskLast) a[R - 1] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(last, s + 16 * (R - 1)), a[R - 1]);
    }
    for (int t = 0; t < whole; ++t) _mm512_storeu_ps(out + p + 16 * t, a[t]);
    if constexpr (MaskLast) _mm512_mask_storeu_ps(out + p + 16 * (R - 1), last, a[R - 1]);
}

} // namespace

SRIGL_AVX512 void shiftedSumAvx512(const float* src, const int32_t* offset, const float* v, int64_t k, int64_t length,
                                   float init, float* out) {
    const __m512 start = _mm512_set1_ps(init);
    int64_t p = 0;
    // Eight registers (128 outputs) cover the FMA latency; the rest of the pass (up to eight registers,
    // the last one masked) goes in one loop over the taps as well. One register per 16 outputs would
    // wait on that latency at every tap (230 taps over 80 outputs: 1163 ns that way, 772 ns in four
    // registers, on Zen 5).
    for (; p + 128 <= length; p += 128) sumRegisters<8, false>(src, offset, v, k, start, p, 0, out);
    const int64_t rest = length - p;
    if (rest <= 0) return;
    const int64_t registers = (rest + 15) / 16;
    const __mmask16 last = rest % 16 ? tailMask(rest % 16) : static_cast<__mmask16>(0xFFFF);
    switch (registers) {
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

SRIGL_AVX512 void shiftedDotsAvx512(const float* g, const float* src, const int32_t* offset, int64_t k, int64_t length,
                                    float* acc) {
    const int64_t full = length / 16 * 16;
    const __mmask16 mask = tailMask(length - full);
    int64_t j = 0;
    // Four taps at a time share each load of g.
    for (; j + 4 <= k; j += 4) {
        const float* s[4] = {src + offset[j], src + offset[j + 1], src + offset[j + 2], src + offset[j + 3]};
        __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t p = 0; p < full; p += 16) {
            const __m512 gp = _mm512_loadu_ps(g + p);
            for (int t = 0; t < 4; ++t) a[t] = _mm512_fmadd_ps(gp, _mm512_loadu_ps(s[t] + p), a[t]);
        }
        if (full < length) {
            const __m512 gp = _mm512_maskz_loadu_ps(mask, g + full);
            for (int t = 0; t < 4; ++t) a[t] = _mm512_fmadd_ps(gp, _mm512_maskz_loadu_ps(mask, s[t] + full), a[t]);
        }
        for (int t = 0; t < 4; ++t) acc[j + t] += horizontalSum(a[t]);
    }
    for (; j < k; ++j) {
        const float* s = src + offset[j];
        __m512 a = _mm512_setzero_ps();
        for (int64_t p = 0; p < full; p += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(g + p), _mm512_loadu_ps(s + p), a);
        if (full < length)
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, g + full), _mm512_maskz_loadu_ps(mask, s + full), a);
        acc[j] += horizontalSum(a);
    }
}

SRIGL_AVX512_NAMESPACE_END

#else // not x86-64: the AVX-512 names run the portable loops (dispatch never selects them).

namespace srigl::kernels::detail {
void shiftedSumAvx512(const float* src, const int32_t* offset, const float* v, int64_t k, int64_t length, float init,
                      float* out) {
    shiftedSumPortable(src, offset, v, k, length, init, out);
}
void shiftedDotsAvx512(const float* g, const float* src, const int32_t* offset, int64_t k, int64_t length, float* acc) {
    shiftedDotsPortable(g, src, offset, k, length, acc);
}
} // namespace srigl::kernels::detail

#endif
