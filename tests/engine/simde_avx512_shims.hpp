// The AVX-512F intrinsics our kernels use that SIMDe 0.7.4 (Debian 12) lacks, written lane by lane after
// Intel's Intrinsics Guide, for the emulated build of the AVX-512 kernels (engine/kernels/
// avx512_intrinsics.hpp includes this after SIMDe). Deliberately plain: a shim must be obviously right,
// since a mistake here would hide or fake a kernel bug. Each stands down when SIMDe provides the name.
#pragma once

#include <cstdint>
#include <cstring>

#ifndef __mmask16
#define __mmask16 simde__mmask16
#endif

namespace srigl::kernels::emulation {

inline bool laneSet(simde__mmask16 k, int lane) { return ((k >> lane) & 1) != 0; }

// dst[i] = k[i] ? *(float*)(base + vindex[i] * scale) : src[i]; masked-off lanes read nothing.
inline simde__m512 maskI32GatherPs(simde__m512 src, simde__mmask16 k, simde__m512i vindex, const void* base,
                                   int scale) {
    float out[16];
    int32_t index[16];
    simde_mm512_storeu_ps(out, src);
    simde_mm512_storeu_si512(index, vindex);
    for (int i = 0; i < 16; ++i)
        if (laneSet(k, i))
            std::memcpy(&out[i], static_cast<const char*>(base) + static_cast<int64_t>(index[i]) * scale,
                        sizeof(float));
    return simde_mm512_loadu_ps(out);
}

// dst[i] = k[i] ? sign-extended 16-bit lane i of a : 0.
inline simde__m512i maskzCvtepi16Epi32(simde__mmask16 k, simde__m256i a) {
    int16_t in[16];
    int32_t out[16];
    simde_mm256_storeu_si256(in, a);
    for (int i = 0; i < 16; ++i) out[i] = laneSet(k, i) ? static_cast<int32_t>(in[i]) : 0;
    return simde_mm512_loadu_si512(out);
}

// dst[i] = k[i] ? p[i] : 0; masked-off lanes are not read (native loads do not fault on them either).
inline simde__m512 maskzLoaduPs(simde__mmask16 k, const void* p) {
    float out[16] = {};
    for (int i = 0; i < 16; ++i)
        if (laneSet(k, i)) std::memcpy(&out[i], static_cast<const float*>(p) + i, sizeof(float));
    return simde_mm512_loadu_ps(out);
}

// p[i] = a[i] where k[i]; the other lanes of memory are left untouched.
inline void maskStoreuPs(void* p, simde__mmask16 k, simde__m512 a) {
    float in[16];
    simde_mm512_storeu_ps(in, a);
    for (int i = 0; i < 16; ++i)
        if (laneSet(k, i)) std::memcpy(static_cast<float*>(p) + i, &in[i], sizeof(float));
}

} // namespace srigl::kernels::emulation

#ifndef _mm512_mask_i32gather_ps
#define _mm512_mask_i32gather_ps srigl::kernels::emulation::maskI32GatherPs
#endif
#ifndef _mm512_maskz_cvtepi16_epi32
#define _mm512_maskz_cvtepi16_epi32 srigl::kernels::emulation::maskzCvtepi16Epi32
#endif
#ifndef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps srigl::kernels::emulation::maskzLoaduPs
#endif
#ifndef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps srigl::kernels::emulation::maskStoreuPs
#endif
