// The AVX-512F intrinsics our kernels use that SIMDe 0.7.4 (Debian 12) lacks, written lane by lane after
// Intel's Intrinsics Guide, for the emulated build of the AVX-512 kernels (engine/kernels/
// avx512_intrinsics.hpp includes this after SIMDe). Deliberately plain: a shim must be obviously right,
// since a mistake here would hide or fake a kernel bug. The masked load and store replace SIMDe's own
// where it has them: SIMDe 0.8.2 (Debian 13) reads all sixteen lanes in its masked load and writes
// zeros into the masked-off lanes in its masked store, memory that native AVX-512 never touches (the
// kernels' passes end in such lanes, past the end of a row: the store's zeros failed
// convShiftedSumMatchesPortable there, scripts/check_libtorch2.sh).
#pragma once

#include <cstdint>
#include <cstring>

#ifndef __mmask16
#define __mmask16 simde__mmask16
#endif

namespace srigl::kernels::emulation {

inline bool laneSet(simde__mmask16 k, int lane) { return ((k >> lane) & 1) != 0; }

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

#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps srigl::kernels::emulation::maskzLoaduPs
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps srigl::kernels::emulation::maskStoreuPs
