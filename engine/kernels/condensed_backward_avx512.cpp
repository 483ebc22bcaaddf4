// AVX-512F block kernels for the condensed backward pass: condensed_backward_avx2.cpp's design with
// 16-float registers, for the blocks of 16 and 32 batch columns the dispatch gives AVX-512 (one or two
// zmm per row of gyT or xT). Only these functions use AVX-512; dispatch runs them only where the CPU has
// it. The pack into blocks stays AVX2's (it is bound by memory, not by register width).
#include "engine/kernels/avx512_intrinsics.hpp"
#include "engine/kernels/avx512_lanes.hpp"
#include "engine/kernels/condensed_backward.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#if SRIGL_AVX512_KERNELS

SRIGL_AVX512_NAMESPACE_BEGIN
namespace {

// Calls f(NV) with NV = block / 16 vectors per block row, for the blocks AVX-512 is given.
template <typename F>
void withVectors(int64_t block, F&& f) {
    switch (block) {
    case 16:
        return f(std::integral_constant<int, 1>{});
    case 32:
        return f(std::integral_constant<int, 2>{});
    default:
        throw std::logic_error("condensed backward: unsupported batch block for AVX-512");
    }
}

template <int NV, typename Index>
SRIGL_AVX512 void scatterRows(const CondensedView& L, const float* gyT, float* gxT) {
    const auto* indices = static_cast<const Index*>(L.indices);
    constexpr int64_t W = 16 * NV;
    for (int64_t r = 0; r < L.rows; ++r) {
        // The row's gy block stays in registers for all its k weights.
        __m512 g[NV];
        for (int n = 0; n < NV; ++n) g[n] = _mm512_loadu_ps(gyT + r * W + 16 * n);
        const float* v = L.values + r * L.k;
        const Index* idx = indices + r * L.k;
        for (int64_t j = 0; j < L.k; ++j) {
            const __m512 vj = _mm512_set1_ps(v[j]);
            float* p = gxT + static_cast<int64_t>(idx[j]) * W;
            for (int n = 0; n < NV; ++n)
                _mm512_storeu_ps(p + 16 * n, _mm512_fmadd_ps(vj, g[n], _mm512_loadu_ps(p + 16 * n)));
        }
    }
}

// Two accumulator sets, so that with one vector per input (block 16) consecutive FMAs do not wait on
// each other; sixteen inputs' sums per tile, written to the gx rows by a 16 x 16 register transpose.
template <int NV>
SRIGL_AVX512 void gatherCols(const GatherArgs& a, int64_t f0, int64_t f1) {
    constexpr int64_t W = 16 * NV;
    alignas(64) float tile[16][W];
    for (int64_t t0 = f0; t0 < f1; t0 += 16) {
        const int64_t t1 = std::min(f1, t0 + 16);
        for (int64_t i = t0; i < t1; ++i) {
            __m512 acc0[NV], acc1[NV];
            for (int n = 0; n < NV; ++n) acc0[n] = acc1[n] = _mm512_setzero_ps();
            int64_t e = a.cols.start[i];
            const int64_t end = a.cols.start[i + 1];
            for (; e + 2 <= end; e += 2) {
                const __m512 v0 = _mm512_set1_ps(a.cols.value[e]);
                const __m512 v1 = _mm512_set1_ps(a.cols.value[e + 1]);
                const float* g0 = a.gyT + static_cast<int64_t>(a.cols.row[e]) * W;
                const float* g1 = a.gyT + static_cast<int64_t>(a.cols.row[e + 1]) * W;
                for (int n = 0; n < NV; ++n) {
                    acc0[n] = _mm512_fmadd_ps(v0, _mm512_loadu_ps(g0 + 16 * n), acc0[n]);
                    acc1[n] = _mm512_fmadd_ps(v1, _mm512_loadu_ps(g1 + 16 * n), acc1[n]);
                }
            }
            if (e < end) {
                const __m512 v = _mm512_set1_ps(a.cols.value[e]);
                const float* g = a.gyT + static_cast<int64_t>(a.cols.row[e]) * W;
                for (int n = 0; n < NV; ++n) acc0[n] = _mm512_fmadd_ps(v, _mm512_loadu_ps(g + 16 * n), acc0[n]);
            }
            for (int n = 0; n < NV; ++n) _mm512_store_ps(tile[i - t0] + 16 * n, _mm512_add_ps(acc0[n], acc1[n]));
        }
        // Into gx [batch, inFeatures]: register transposes for whole 16 x 16 tiles, scalars for the rest
        // (a part's last inputs when its range is not a multiple of 16, the block's last batch rows).
        int64_t w0 = 0;
        if (t1 - t0 == 16)
            for (; w0 + 16 <= a.nb; w0 += 16)
                transpose16x16(&tile[0][w0], W, a.gx + (a.b0 + w0) * a.inFeatures + t0, a.inFeatures);
        for (int64_t w = w0; w < a.nb; ++w) {
            float* dst = a.gx + (a.b0 + w) * a.inFeatures;
            for (int64_t i = t0; i < t1; ++i) dst[i] = tile[i - t0][w];
        }
    }
}

template <int NV, typename Index>
SRIGL_AVX512 inline __m512 dotBlock(const __m512* g, const float* xT, Index index) {
    const float* p = xT + static_cast<int64_t>(index) * (16 * NV);
    __m512 acc = _mm512_mul_ps(g[0], _mm512_loadu_ps(p));
    for (int n = 1; n < NV; ++n) acc = _mm512_fmadd_ps(g[n], _mm512_loadu_ps(p + 16 * n), acc);
    return acc;
}

template <int NV, typename Index>
SRIGL_AVX512 void dotRows(const CondensedView& L, const float* gyT, const float* xT, float* gv, int64_t r0,
                          int64_t r1) {
    const auto* indices = static_cast<const Index*>(L.indices);
    constexpr int64_t W = 16 * NV;
    const SumRounds rounds;
    for (int64_t r = r0; r < r1; ++r) {
        __m512 g[NV];
        for (int n = 0; n < NV; ++n) g[n] = _mm512_loadu_ps(gyT + r * W + 16 * n);
        const Index* idx = indices + r * L.k;
        float* out = gv + r * L.k;
        // Sixteen kept weights at a time: sixteen independent accumulator chains, reduced together; the
        // row's last k % 16 weights the same way with zeros for the missing ones and a masked add.
        for (int64_t j = 0; j < L.k; j += 16) {
            const int64_t count = std::min<int64_t>(16, L.k - j);
            __m512 a[16];
            for (int64_t t = 0; t < 16; ++t) a[t] = t < count ? dotBlock<NV>(g, xT, idx[j + t]) : _mm512_setzero_ps();
            const __m512 s = sum16(a, rounds);
            if (count == 16) {
                _mm512_storeu_ps(out + j, _mm512_add_ps(_mm512_loadu_ps(out + j), s));
            } else {
                const __mmask16 m = tailMask(count);
                _mm512_mask_storeu_ps(out + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, out + j), s));
            }
        }
    }
}

} // namespace

void scatterRowsAvx512(const CondensedView& layer, const float* gyT, int64_t block, float* gxT) {
    withVectors(block, [&](auto nv) {
        if (layer.indices16)
            scatterRows<decltype(nv)::value, int16_t>(layer, gyT, gxT);
        else
            scatterRows<decltype(nv)::value, int32_t>(layer, gyT, gxT);
    });
}

void gatherColsAvx512(const GatherArgs& args, int64_t f0, int64_t f1) {
    withVectors(args.block, [&](auto nv) { gatherCols<decltype(nv)::value>(args, f0, f1); });
}

void dotRowsAvx512(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv, int64_t r0,
                   int64_t r1) {
    withVectors(block, [&](auto nv) {
        if (layer.indices16)
            dotRows<decltype(nv)::value, int16_t>(layer, gyT, xT, gv, r0, r1);
        else
            dotRows<decltype(nv)::value, int32_t>(layer, gyT, xT, gv, r0, r1);
    });
}

SRIGL_AVX512_NAMESPACE_END

#else // not x86-64: only the portable kernels exist; dispatch never selects these.

namespace srigl::kernels::detail {
void scatterRowsAvx512(const CondensedView& layer, const float* gyT, int64_t block, float* gxT) {
    scatterRowsPortable(layer, gyT, block, gxT);
}
void gatherColsAvx512(const GatherArgs& args, int64_t f0, int64_t f1) { gatherColsPortable(args, f0, f1); }
void dotRowsAvx512(const CondensedView& layer, const float* gyT, const float* xT, int64_t block, float* gv, int64_t r0,
                   int64_t r1) {
    dotRowsPortable(layer, gyT, xT, block, gv, r0, r1);
}
} // namespace srigl::kernels::detail

#endif
