// The thread arrangement of the process: LibTorch's intra-op threads and OpenBLAS's threads.
#pragma once

#include <string>

namespace srigl {

struct ThreadingInfo {
    int torchThreads = 1;
    int blasThreads = 1;
    std::string blas;       // e.g. "OpenBLAS 0.3.21 ..."; "unknown" when no known BLAS answers
    std::string ompWaitPolicy; // value of OMP_WAIT_POLICY seen by the process
    std::string malloc;        // glibc malloc's huge-page setting (mallocSetting)
};

// threads <= 0: one per core. Sets both pools to the same size: LibTorch's elementwise work and
// OpenBLAS's matmuls never run at the same time, and with OMP_WAIT_POLICY=PASSIVE the idle OpenMP
// workers sleep instead of spinning on the cores OpenBLAS needs (see docs/results.md).
ThreadingInfo configureThreads(int threads);
ThreadingInfo currentThreading();

// Lowers the calling thread's scheduling priority by `niceness` (Linux nice values, 1-19); the
// threads it starts afterwards (its OpenMP team, a recorder) inherit it. The Studio trains this way so
// that on 2 cores its UI thread and software OpenGL get the cores first (docs/studio.md, "Live
// frame budget"). Returns false where the system refuses or has no per-thread priority.
bool lowerCurrentThreadPriority(int niceness);

// Re-executes the program with the compute environment (compute_environment.hpp: OMP_WAIT_POLICY,
// malloc's huge pages) when something of it is missing: the OpenMP runtime and glibc read those when
// the process starts, so setting them later has no effect. Call first in main. Not again in the new
// process (SRIGL_NO_REEXEC), and never where SRIGL_NO_REEXEC is already set.
void ensureComputeEnvironment(int argc, char** argv);

} // namespace srigl
