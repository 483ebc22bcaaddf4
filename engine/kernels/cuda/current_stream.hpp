// The CUDA stream LibTorch is queueing work on for the current device, for our own kernels to join,
// passed as void* so that callers need no CUDA header; and a scope that makes a tensor's GPU current.
#pragma once

namespace srigl {

// LibTorch's current stream (a cudaStream_t) where LibTorch has CUDA; nullptr (the legacy default
// stream, which is also LibTorch's unless a caller chose another) everywhere else.
void* currentCudaStream();

// Makes `device` the current CUDA device for the scope and restores the previous one after it, so
// that our kernels launch on the GPU that holds their tensors (LibTorch launches its own ops there
// the same way). A no-op without a CUDA LibTorch.
class CudaDeviceScope {
public:
    explicit CudaDeviceScope(int device);
    ~CudaDeviceScope();
    CudaDeviceScope(const CudaDeviceScope&) = delete;
    CudaDeviceScope& operator=(const CudaDeviceScope&) = delete;

private:
    int previous_ = -1;
};

} // namespace srigl
