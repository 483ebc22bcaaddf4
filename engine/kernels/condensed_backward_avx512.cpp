// The AVX-512F block kernel of the condensed backward pass: grad_input's gather over the layer's
// columns, condensed_backward_avx2.cpp's design with 16-float registers, for the blocks of 16 and 32
// batch columns the dispatch gives AVX-512 (one or two zmm per row of gyT), sixteen inputs written at
// once through a register transpose. Only this function uses AVX-512; dispatch runs it only where the
// CPU has it. AVX-512 CPUs run the AVX2 scatter and dots: measured natively on AMD Zen 5 (768 x 3072,
// one thread, blocks of 16 and 32), 16-lane versions of them were slower, the scatter by 15-40% (a
// read-modify-write of a whole 64-byte line per kept weight) and the dots by 60-80% (each sum of
// sixteen lanes costs about two cross-lane permutes per kept weight, more than the FMAs it saves). The
// pack into blocks stays AVX2's (it is bound by memory, not by register width).
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

} // namespace

void gatherColsAvx512(const GatherArgs& args, int64_t f0, int64_t f1) {
    withVectors(args.block, [&](auto nv) { gatherCols<decltype(nv)::value>(args, f0, f1); });
}

SRIGL_AVX512_NAMESPACE_END

#else // not x86-64: only the portable kernels exist; dispatch never selects these.

namespace srigl::kernels::detail {
void gatherColsAvx512(const GatherArgs& args, int64_t f0, int64_t f1) { gatherColsPortable(args, f0, f1); }
} // namespace srigl::kernels::detail

#endif
