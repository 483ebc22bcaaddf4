// AVX-512F kernels for condensed constant fan-in layers: the AVX2 design with 16-float registers.
// Only these functions use AVX-512 (target attribute); dispatch runs them only where the CPU has it.
// Batch 1 has no AVX-512 kernel: AVX-512 CPUs run the AVX2 gemv (condensed_kernels.cpp says why).
#include "engine/kernels/avx512_intrinsics.hpp"
#include "engine/kernels/condensed_kernels.hpp"

#include <algorithm>
#include <stdexcept>

#if SRIGL_AVX512_KERNELS

SRIGL_AVX512_NAMESPACE_BEGIN
namespace {

// One row against a block of W = 16 * NV batch columns, U accumulator sets (see the AVX2 file).
template <int NV, int U, typename Index>
SRIGL_AVX512 inline void rowBlock(const float* v, const Index* idx, int64_t k, const float* xb, float bias,
                                  float* out) {
    constexpr int64_t W = 16 * NV;
    __m512 acc[U][NV];
    for (int u = 0; u < U; ++u)
        for (int i = 0; i < NV; ++i) acc[u][i] = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + U <= k; j += U) {
#pragma GCC unroll 8
        for (int u = 0; u < U; ++u) {
            const float* p = xb + static_cast<int64_t>(idx[j + u]) * W;
            const __m512 vv = _mm512_set1_ps(v[j + u]);
#pragma GCC unroll 8
            for (int i = 0; i < NV; ++i) acc[u][i] = _mm512_fmadd_ps(vv, _mm512_loadu_ps(p + 16 * i), acc[u][i]);
        }
    }
    for (; j < k; ++j) {
        const float* p = xb + static_cast<int64_t>(idx[j]) * W;
        const __m512 vv = _mm512_set1_ps(v[j]);
        for (int i = 0; i < NV; ++i) acc[0][i] = _mm512_fmadd_ps(vv, _mm512_loadu_ps(p + 16 * i), acc[0][i]);
    }
    const __m512 b = _mm512_set1_ps(bias);
    for (int i = 0; i < NV; ++i) {
        __m512 s = acc[0][i];
        for (int u = 1; u < U; ++u) s = _mm512_add_ps(s, acc[u][i]);
        _mm512_storeu_ps(out + 16 * i, _mm512_add_ps(b, s));
    }
}

// Blocks outside, rows inside, results through an 8-row tile into y [batch, rows].
template <int NV, typename Index>
SRIGL_AVX512 void gemmRows(const BatchedArgs& a, int64_t r0, int64_t r1) {
    constexpr int64_t W = 16 * NV;
    // The AVX2 kernel's accumulator sets for the same block width (16 columns: 4, 32: 2, 64: 1), so that
    // every output sums its products in the same order and both kernels give the same bits: a run does
    // not change with the machine it lands on (training is chaotic enough that a last-bit difference
    // in the forward grows to 1e-4 in the loss within a few hundred steps). Half the FMA chains of
    // 8 / NV cost little here: the kernel waits on L2 (two 64-byte rows of xT per kept weight).
    constexpr int U = NV >= 4 ? 1 : 4 / NV;
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
            for (int64_t w = 0; w < nb; ++w)
                for (int64_t i = 0; i < nr; ++i) a.y[(b0 + w) * rows + rg + i] = tile[i * W + w];
        }
    }
}

template <typename Index>
void gemmRowsAnyBlock(const BatchedArgs& a, int64_t r0, int64_t r1) {
    switch (a.block) {
    case 16: return gemmRows<1, Index>(a, r0, r1);
    case 32: return gemmRows<2, Index>(a, r0, r1);
    case 64: return gemmRows<4, Index>(a, r0, r1);
    default: throw std::logic_error("condensed kernels: unsupported batch block for AVX-512");
    }
}

} // namespace

void gemmRowsAvx512(const BatchedArgs& args, int64_t r0, int64_t r1) {
    if (args.layer->indices16) gemmRowsAnyBlock<int16_t>(args, r0, r1);
    else gemmRowsAnyBlock<int32_t>(args, r0, r1);
}

SRIGL_AVX512_NAMESPACE_END

#else // not x86-64: only the portable kernels exist; dispatch never selects these.

namespace srigl::kernels::detail {
void gemmRowsAvx512(const BatchedArgs& args, int64_t r0, int64_t r1) { gemmRowsPortable(args, r0, r1); }
} // namespace srigl::kernels::detail

#endif
