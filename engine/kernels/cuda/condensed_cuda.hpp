// CUDA kernels for condensed constant fan-in layers: the forward and both backward passes on device
// pointers, plus the little device support the benchmarks need (device name, event timing).
// Plain C++ only (no CUDA, no Torch headers): ordinary g++ translation units include it. Without CUDA
// (SRIGL_HAVE_CUDA unset) every function except kernelsBuilt() throws std::runtime_error.
#pragma once

#include "engine/kernels/condensed_kernels.hpp"

#include <cstdint>
#include <string>

namespace srigl::cuda {

// True when this build compiled the CUDA kernels (SRIGL_HAVE_CUDA).
bool kernelsBuilt();

// WarpPerRow: a warp per output row gathers x straight from global memory; best for a few samples.
// Tiled: a block stages a tile of x (batch columns x input features) in shared memory and its warps
// gather from there; best once the batch is large enough to reuse each staged input across rows.
enum class ForwardVariant { Auto, WarpPerRow, Tiled };
std::string toString(ForwardVariant v);

// The variant Auto runs: WarpPerRow up to batch 8, Tiled above (see condensed_forward.cu).
ForwardVariant chooseForwardVariant(int64_t batch, int64_t rows, int64_t k, int64_t inFeatures);

// All pointers are device pointers (the view's too); `stream` is a cudaStream_t passed as void*
// (nullptr = the legacy default stream). Work is queued on the stream, nothing waits for it.
// x: [batch, inFeatures], y: [batch, rows] row-major, y fully written.
// Contract: indices lie in [0, inFeatures) and ascend within a row (the ascent matters only when the
// inputs do not fit shared memory at once). Out-of-range indices are never read, but the row they sit
// in gets an unspecified result (the tiled kernels stop the row there).
// Throws std::invalid_argument for a malformed view (null pointers with rows > 0, k < 1 with rows > 0,
// negative sizes, inFeatures < 1, rows or k beyond int32) and std::runtime_error for a failed CUDA call.
void condensedForward(const kernels::CondensedView& layer, const float* x, int64_t batch, float* y, void* stream,
                      ForwardVariant variant = ForwardVariant::Auto);

// gx[b, i] = sum over (r, j) with indices[r, j] == i of gy[b, r] * values[r, j]; gy: [batch, rows],
// gx: [batch, inFeatures] fully written (zero where no kept weight reads input i). Summed with float
// atomics, so the last bits may differ from run to run. layer.bias is ignored.
void condensedGradInput(const kernels::CondensedView& layer, const float* gy, int64_t batch, float* gx, void* stream);

// gv[r, j] = sum_b gy[b, r] * x[b, indices[r, j]]; gv: [rows, k] fully written (zeros for an empty
// batch). Deterministic: partial sums over batch slices are added in a fixed order.
void condensedGradValues(const kernels::CondensedView& layer, const float* x, const float* gy, int64_t batch,
                         float* gv, void* stream);

// cudaGetDeviceProperties(device).name, e.g. "NVIDIA H200".
std::string deviceName(int device);

// Times GPU work on a stream with CUDA events: start(stream), queue the work, then stopMs(stream)
// records the end, waits for it and returns the elapsed milliseconds.
class EventTimer {
public:
    EventTimer();
    ~EventTimer();
    EventTimer(const EventTimer&) = delete;
    EventTimer& operator=(const EventTimer&) = delete;
    void start(void* stream);
    double stopMs(void* stream);

private:
    void* begin_ = nullptr; // cudaEvent_t
    void* end_ = nullptr;
};

} // namespace srigl::cuda
