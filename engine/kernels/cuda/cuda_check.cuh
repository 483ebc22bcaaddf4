// Internal to engine/kernels/cuda: CUDA error checks, argument checks and the device facts the launch plans
// need. Host code only; included by the .cu files.
#pragma once

#include "engine/kernels/cuda/condensed_cuda.hpp"

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace srigl::cuda::detail {

// Throws std::runtime_error naming the failed step and CUDA's own message.
inline void check(cudaError_t status, const char* what) {
    if (status != cudaSuccess)
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

// After a kernel launch: a bad configuration shows up here, not at the launch itself.
inline void checkLaunch(const char* what) { check(cudaGetLastError(), what); }

inline cudaStream_t asStream(void* stream) { return static_cast<cudaStream_t>(stream); }

// The view's shape checks shared by the three entry points; buffersPresent covers the activations.
inline void checkLayer(const char* what, const kernels::CondensedView& layer, int64_t batch, bool buffersPresent) {
    auto fail = [&](const char* why) { throw std::invalid_argument(std::string(what) + ": " + why); };
    if (layer.rows < 0 || layer.k < 0 || batch < 0) fail("negative size");
    if (layer.inFeatures < 1) fail("needs inFeatures >= 1");
    if (layer.rows > 0 && (layer.k < 1 || !layer.values || !layer.indices))
        fail("malformed condensed layer (k < 1 or null values/indices)");
    // Rows and k index the grid and the per-row loops in int; inFeatures must fit the int32 indices.
    if (layer.rows > INT32_MAX || layer.k > INT32_MAX || layer.inFeatures > int64_t(INT32_MAX) + 1)
        fail("rows, k or inFeatures beyond int32");
    if (!buffersPresent) fail("null input or output buffer");
}

// What the launch plans need to know about the current device (cached per device).
struct DeviceInfo {
    int smCount = 1;
    size_t smemPerBlockOptin = 48 * 1024;
    size_t smemPerSm = 64 * 1024;
};
const DeviceInfo& currentDevice();

} // namespace srigl::cuda::detail
