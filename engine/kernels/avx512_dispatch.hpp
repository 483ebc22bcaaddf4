// The kernels that Isa::Avx512 runs. Normally the engine's native ones; a test on a CPU without
// AVX-512 installs their SIMDe-emulated twins (tests/engine/test_avx512_emulation.cpp), so that the
// whole AVX-512 paths (block choice, splits over threads, packing) run and are checked here too, not
// only the kernels one by one: no AVX-512 CPU is available to us.
#pragma once

#include "engine/kernels/condensed_backward.hpp"
#include "engine/kernels/condensed_conv.hpp"
#include "engine/kernels/condensed_kernels.hpp"

namespace srigl::kernels::detail {

struct Avx512Kernels {
    decltype(&gemmRowsAvx512) gemm = gemmRowsAvx512;
    decltype(&gatherColsAvx512) gather = gatherColsAvx512;
    decltype(&shiftedSumAvx512) shiftedSum = shiftedSumAvx512;
    decltype(&shiftedDotsAvx512) shiftedDots = shiftedDotsAvx512;
};

const Avx512Kernels& avx512Kernels();

// Tests only, before any kernel runs: Isa::Avx512 runs `kernels` from now on and counts as supported
// on any CPU (detectIsa chooses it).
void emulateAvx512(const Avx512Kernels& kernels);
bool avx512Emulated();

} // namespace srigl::kernels::detail
