// srigl-cuda-checks: the CUDA kernel checks without Qt, one line per check. Exit 0 when all pass,
// 1 when any fails, 77 (skipped) without a GPU or without the kernels.
#include "tests/cuda/cuda_checks.hpp"

#include <cstdio>

int main() {
    const std::string reason = srigl::tests::cudaChecksSkipReason();
    if (!reason.empty()) {
        std::printf("SKIP: %s\n", reason.c_str());
        return 77;
    }
    int failed = 0;
    for (const auto& result : srigl::tests::runCudaChecks()) {
        if (result.passed) {
            std::printf("PASS %s\n", result.name.c_str());
        } else {
            std::printf("FAIL %s: %s\n", result.name.c_str(), result.detail.c_str());
            ++failed;
        }
        std::fflush(stdout);
    }
    std::printf("%d failed\n", failed);
    return failed > 0 ? 1 : 0;
}
