// Lane helpers shared by the AVX-512 backward and convolution kernels (only their translation units
// include this, after avx512_intrinsics.hpp): partial-vector masks, horizontal sums and a 16 x 16
// transpose in registers.
#pragma once

#include "engine/kernels/avx512_intrinsics.hpp"

#include <cstdint>

#if SRIGL_AVX512_KERNELS

SRIGL_AVX512_NAMESPACE_BEGIN

// Lanes [0, count) set, count in [0, 16]: masked loads and stores of a row's last partial vector,
// which never touch memory past it.
inline __mmask16 tailMask(int64_t count) { return static_cast<__mmask16>((1u << count) - 1u); }

// The sum of v's sixteen lanes in registers: the upper half onto the lower, then 128-bit halves and
// in-lane shuffles as in the AVX2 files. (Both halves come out through the zero-masked extract: GCC
// 12's plain one, and the cast to 256 bits built on it, start from an "undefined" register and trip
// -Wmaybe-uninitialized.) A sum
// through memory (one store, sixteen dependent scalar adds) made the convolution's dots over short
// rows 2.5x slower than the AVX2 loop on AMD Zen 5.
SRIGL_AVX512 inline float horizontalSum(__m512 v) {
    const __m512d both = _mm512_castps_pd(v);
    const __m256 eight = _mm256_add_ps(_mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, both, 0)),
                                       _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, both, 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// An index vector for _mm512_permutex2var_ps that takes whole 128-bit quarters: qi in [0, 8), where
// 0-3 are the first operand's quarters and 4-7 the second's.
SRIGL_AVX512 inline __m512i quarters(int q0, int q1, int q2, int q3) {
    return _mm512_setr_epi32(4 * q0, 4 * q0 + 1, 4 * q0 + 2, 4 * q0 + 3, 4 * q1, 4 * q1 + 1, 4 * q1 + 2, 4 * q1 + 3,
                             4 * q2, 4 * q2 + 1, 4 * q2 + 2, 4 * q2 + 3, 4 * q3, 4 * q3 + 1, 4 * q3 + 2, 4 * q3 + 3);
}

// dst[c * dstStride + i] = src[i * srcStride + c] for a 16 x 16 tile: 2 x 2 blocks inside each
// 128-bit quarter (unpack), 4 x 4 (shuffle), then whole quarters across registers (two permute rounds).
SRIGL_AVX512 inline void transpose16x16(const float* src, int64_t srcStride, float* dst, int64_t dstStride) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * srcStride);
    // The zero-masked forms with every lane kept: GCC 12's plain unpacks trip -Wmaybe-uninitialized.
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_maskz_unpacklo_ps(0xFFFF, r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, r[2 * i], r[2 * i + 1]);
    }
    // r[4q + m], quarter L: column 4L + m, rows 4q .. 4q + 3.
    for (int q = 0; q < 4; ++q) {
        r[4 * q] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0x44);
        r[4 * q + 1] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0xEE);
        r[4 * q + 2] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0x44);
        r[4 * q + 3] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0xEE);
    }
    const __m512i front = quarters(0, 1, 4, 5), back = quarters(2, 3, 6, 7);
    const __m512i even = quarters(0, 2, 4, 6), odd = quarters(1, 3, 5, 7);
    for (int m = 0; m < 4; ++m) {
        const __m512 upper0 = _mm512_permutex2var_ps(r[m], front, r[4 + m]); // rows 0-7, quarters 0-1
        const __m512 upper1 = _mm512_permutex2var_ps(r[m], back, r[4 + m]);  // rows 0-7, quarters 2-3
        const __m512 lower0 = _mm512_permutex2var_ps(r[8 + m], front, r[12 + m]);
        const __m512 lower1 = _mm512_permutex2var_ps(r[8 + m], back, r[12 + m]);
        _mm512_storeu_ps(dst + m * dstStride, _mm512_permutex2var_ps(upper0, even, lower0));
        _mm512_storeu_ps(dst + (4 + m) * dstStride, _mm512_permutex2var_ps(upper0, odd, lower0));
        _mm512_storeu_ps(dst + (8 + m) * dstStride, _mm512_permutex2var_ps(upper1, even, lower1));
        _mm512_storeu_ps(dst + (12 + m) * dstStride, _mm512_permutex2var_ps(upper1, odd, lower1));
    }
}

SRIGL_AVX512_NAMESPACE_END

#endif
