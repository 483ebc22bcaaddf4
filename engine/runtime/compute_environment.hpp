// The environment a computing process (training, benchmarks, conversion) wants before its libraries
// load. Torch-free: the light `srigl` front end sets it for srigl-engine, which it then executes.
#pragma once

#include <string>

namespace srigl {

// Adds, where the user has not set them:
// - OMP_WAIT_POLICY=PASSIVE: LibTorch's idle OpenMP threads sleep instead of spinning on the cores
//   OpenBLAS needs (docs/results.md). The OpenMP runtime reads it when it loads.
// - glibc.malloc.hugetlb=1 in GLIBC_TUNABLES: malloc asks for transparent huge pages, so a large
//   tensor allocated anew every step (a 4096 x 4096 gradient is 64 MiB, above malloc's largest mmap
//   threshold, so it is mapped and unmapped each time) faults in 2 MiB pages instead of 4 KiB ones.
//   Measured on a 2-core AMD EPYC VM (docs/benchmarks.md, "Stop 36"): a dense MLP
//   784-4096-4096-10 step fell from 535 to 195 ms (35 000 faults a step before). glibc reads it when
//   the process starts; older glibc and kernels without THP ignore it. (Trainers also keep freed
//   blocks for their next step where memory allows: engine/runtime/freed_memory.hpp.)
// Returns true when it added something (the current process keeps its old settings: only programs
// executed afterwards see the new ones).
bool addComputeEnvironment();

// Where tunable `name` ("glibc.malloc.hugetlb") is set in a GLIBC_TUNABLES list ("a=1:b=2"): the
// start of its "name=value" entry, or nullptr.
const char* tunableIn(const char* list, const char* name);

// "glibc.malloc.hugetlb=1" (the setting in this process's GLIBC_TUNABLES), or "default": for the
// header of benchmark output.
std::string mallocSetting();

} // namespace srigl
