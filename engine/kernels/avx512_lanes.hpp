// Lane helpers shared by the AVX-512 backward and convolution kernels (only their translation units
// include this, after avx512_intrinsics.hpp): partial-vector masks, horizontal sums, sixteen sums at
// once and a 16 x 16 transpose in registers.
#pragma once

#include "engine/kernels/avx512_intrinsics.hpp"

#include <cstdint>

#if SRIGL_AVX512_KERNELS

SRIGL_AVX512_NAMESPACE_BEGIN

// Lanes [0, count) set, count in [0, 16]: masked loads and stores of a row's last partial vector,
// which never touch memory past it.
inline __mmask16 tailMask(int64_t count) { return static_cast<__mmask16>((1u << count) - 1u); }

// The sum of v's sixteen lanes, through memory like the forward's gemv: GCC 12's 128-bit extracts start
// from an "undefined" register and trip -Wmaybe-uninitialized. Once per tap and call, not per element.
SRIGL_AVX512 inline float horizontalSum(__m512 v) {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, v);
    float s = 0.0f;
    for (float lane : lanes) s += lane;
    return s;
}

// An index vector for _mm512_permutex2var_ps that takes whole 128-bit quarters: qi in [0, 8), where
// 0-3 are the first operand's quarters and 4-7 the second's.
SRIGL_AVX512 inline __m512i quarters(int q0, int q1, int q2, int q3) {
    return _mm512_setr_epi32(4 * q0, 4 * q0 + 1, 4 * q0 + 2, 4 * q0 + 3, 4 * q1, 4 * q1 + 1, 4 * q1 + 2, 4 * q1 + 3,
                             4 * q2, 4 * q2 + 1, 4 * q2 + 2, 4 * q2 + 3, 4 * q3, 4 * q3 + 1, 4 * q3 + 2, 4 * q3 + 3);
}

// The index vectors of sum16's four halving rounds (built once per kernel call, not per sum). Round
// L (1-4) leaves groups of s = 16 >> L lanes; result group e comes from the first operand when e is
// even and the second when odd, out of that operand's group e / 2 (2s lanes): `low` takes its first s
// lanes, `high` its last s, and adding the two halves the partial sums.
struct SumRounds {
    __m512i low[4], high[4];

    SRIGL_AVX512 SumRounds() {
        for (int round = 0; round < 4; ++round) {
            const int s = 8 >> round;
            alignas(64) int32_t lo[16], hi[16];
            for (int lane = 0; lane < 16; ++lane) {
                const int e = lane / s;
                lo[lane] = (e % 2) * 16 + (e / 2) * 2 * s + lane % s;
                hi[lane] = lo[lane] + s;
            }
            low[round] = _mm512_load_si512(lo);
            high[round] = _mm512_load_si512(hi);
        }
    }
};

// Lane t of the result is the sum of a[t]'s lanes. Round L pairs a[j] with a[j + (16 >> L)], so that
// group e of the survivors always holds vector j + e * (16 >> L)'s partial sums and the last round
// ends in order: 15 rounds of two permutes and an add instead of sixteen horizontal sums.
SRIGL_AVX512 inline __m512 sum16(__m512 (&a)[16], const SumRounds& rounds) {
    for (int round = 0; round < 4; ++round) {
        const int n = 8 >> round;
        for (int j = 0; j < n; ++j)
            a[j] = _mm512_add_ps(_mm512_permutex2var_ps(a[j], rounds.low[round], a[j + n]),
                                 _mm512_permutex2var_ps(a[j], rounds.high[round], a[j + n]));
    }
    return a[0];
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
