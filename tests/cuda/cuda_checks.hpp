// Checks of the CUDA kernels (engine/kernels/cuda) against a double-precision LibTorch reference, without Qt:
// the srigl-cuda-checks runner and the Qt suite test_cuda_kernels both call them.
#pragma once

#include <string>
#include <vector>

namespace srigl::tests {

struct CheckResult {
    std::string name;
    bool passed = false;
    std::string detail;
};

// Empty when the checks can run; else why not (no kernels in this build, or no CUDA device).
std::string cudaChecksSkipReason();

// Every check: forward (Auto, WarpPerRow, Tiled), grad_input and grad_values over odd and edge shapes
// and both index types, argument errors, and a timed batch-2048 run that must not throw.
std::vector<CheckResult> runCudaChecks();

} // namespace srigl::tests
