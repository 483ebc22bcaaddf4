// What the AVX-512 translation units include instead of <immintrin.h>, so that the same source can also
// be compiled against SIMDe's portable AVX-512 (SRIGL_AVX512_EMULATED, tests only): no AVX-512 CPU is
// available to us, and emulation is how those kernels get run and checked against the portable ones.
//
// Normally: <immintrin.h>, SRIGL_AVX512 is the target attribute, and the kernels are defined in
// srigl::kernels::detail as the headers declare them.
// Emulated: SIMDe under the native names, SRIGL_AVX512 is empty (plain code for this CPU), and the
// kernels go to srigl::kernels::detail::emulated, so that one test binary holds both the engine's
// native kernels and the emulated ones. The build passes SRIGL_AVX512_EMULATION_SHIMS, a test-side
// header for the intrinsics SIMDe lacks, so the engine names no test file. An emulated translation
// unit must include neither Qt nor Torch (they bring <immintrin.h>, whose names SIMDe's aliases hide).
#pragma once

#if defined(SRIGL_AVX512_EMULATED)

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include SRIGL_AVX512_EMULATION_SHIMS

#define SRIGL_AVX512
#define SRIGL_AVX512_KERNELS 1
#define SRIGL_AVX512_NAMESPACE_BEGIN namespace srigl::kernels::detail::emulated {
#define SRIGL_AVX512_NAMESPACE_END }

#elif defined(__x86_64__)

#include <immintrin.h>

#define SRIGL_AVX512 __attribute__((target("avx512f")))
#define SRIGL_AVX512_KERNELS 1
#define SRIGL_AVX512_NAMESPACE_BEGIN namespace srigl::kernels::detail {
#define SRIGL_AVX512_NAMESPACE_END }

#else // not x86-64: the AVX-512 names run the portable kernels (dispatch never selects them).

#define SRIGL_AVX512_KERNELS 0

#endif
