// Only this file includes c10's CUDA headers, and only in a build against a CUDA LibTorch
// (SRIGL_TORCH_CUDA, set by engine/CMakeLists.txt): the CPU build never sees them.
#include "engine/kernels/cuda/current_stream.hpp"

#ifdef SRIGL_TORCH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace srigl {

void* currentCudaStream() {
#ifdef SRIGL_TORCH_CUDA
    return static_cast<void*>(c10::cuda::getCurrentCUDAStream().stream());
#else
    return nullptr;
#endif
}

CudaDeviceScope::CudaDeviceScope([[maybe_unused]] int device) {
#ifdef SRIGL_TORCH_CUDA
    const int current = static_cast<int>(c10::cuda::current_device());
    if (device >= 0 && device != current) {
        previous_ = current;
        c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
    }
#endif
}

CudaDeviceScope::~CudaDeviceScope() {
#ifdef SRIGL_TORCH_CUDA
    if (previous_ >= 0) c10::cuda::set_device(static_cast<c10::DeviceIndex>(previous_));
#endif
}

} // namespace srigl
