// Device support for the CUDA kernels: the device facts cache, names and event timing.
#include "engine/kernels/cuda/condensed_cuda.hpp"
#include "engine/kernels/cuda/condensed_tile.cuh"
#include "engine/kernels/cuda/cuda_check.cuh"

#include <algorithm>
#include <cstdlib>

#include <map>
#include <mutex>

namespace srigl::cuda {

bool kernelsBuilt() { return true; }

std::string toString(ForwardVariant v) {
    switch (v) {
    case ForwardVariant::Auto: return "auto";
    case ForwardVariant::WarpPerRow: return "warp-per-row";
    case ForwardVariant::Tiled: return "tiled";
    }
    return "unknown";
}

std::string deviceName(int device) {
    cudaDeviceProp prop{};
    detail::check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    return prop.name;
}

EventTimer::EventTimer() {
    cudaEvent_t b = nullptr, e = nullptr;
    detail::check(cudaEventCreate(&b), "cudaEventCreate");
    if (cudaError_t status = cudaEventCreate(&e); status != cudaSuccess) {
        cudaEventDestroy(b);
        detail::check(status, "cudaEventCreate");
    }
    begin_ = b;
    end_ = e;
}

EventTimer::~EventTimer() {
    // Destructors must not throw: a failure here only leaks an event.
    cudaEventDestroy(static_cast<cudaEvent_t>(begin_));
    cudaEventDestroy(static_cast<cudaEvent_t>(end_));
}

void EventTimer::start(void* stream) {
    detail::check(cudaEventRecord(static_cast<cudaEvent_t>(begin_), detail::asStream(stream)), "cudaEventRecord");
}

double EventTimer::stopMs(void* stream) {
    auto e = static_cast<cudaEvent_t>(end_);
    detail::check(cudaEventRecord(e, detail::asStream(stream)), "cudaEventRecord");
    detail::check(cudaEventSynchronize(e), "cudaEventSynchronize");
    float ms = 0.0f;
    detail::check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(begin_), e), "cudaEventElapsedTime");
    return ms;
}

namespace detail {

const DeviceInfo& currentDevice() {
    static std::mutex mutex;
    static std::map<int, DeviceInfo> cache; // std::map: references stay valid as devices are added
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(device);
    if (it != cache.end()) return it->second;
    DeviceInfo info;
    int value = 0;
    check(cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    info.smCount = value > 0 ? value : 1;
    check(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "cudaDeviceGetAttribute");
    if (value > 0) info.smemPerBlockOptin = static_cast<size_t>(value);
    check(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device),
          "cudaDeviceGetAttribute");
    if (value > 0) info.smemPerSm = static_cast<size_t>(value);
    return cache.emplace(device, info).first->second;
}

namespace {
// A block should own at least this many rows so that staging its x tile pays off.
constexpr int64_t kMinRowsPerBlock = 16;
// Cursors live in shared memory next to the tile: cap the rows per block so they stay small.
constexpr int64_t kMaxRowsPerBlock = 4096;
} // namespace

TilePlan planTiles(int cols, int64_t colBlocks, int64_t rows, int64_t inFeatures) {
    const DeviceInfo& device = currentDevice();
    const size_t budget = device.smemPerBlockOptin;
    TilePlan plan;
    plan.cols = cols;
    plan.colBlocks = colBlocks;
    rows = std::max<int64_t>(rows, 1);

    // Blocks that fit one SM at once with a single-phase tile (at most 4 of 512 threads).
    const auto featuresFor = [&](int64_t rowsPerBlock) {
        const int64_t fixed = static_cast<int64_t>(tileSmemBytes(cols, 0, static_cast<int>(rowsPerBlock)));
        const int64_t room = static_cast<int64_t>(budget) - fixed;
        return std::min<int64_t>(inFeatures, room / (cols * static_cast<int64_t>(sizeof(float))));
    };
    const size_t guess = tileSmemBytes(cols, std::max<int64_t>(featuresFor(std::min(rows, kMaxRowsPerBlock)), 1),
                                       static_cast<int>(std::min(rows, int64_t(256))));
    const int64_t perSm = std::clamp<int64_t>(static_cast<int64_t>(device.smemPerSm / (guess + 1024)), 1,
                                              2048 / kTileThreads);
    const int64_t target = device.smCount * perSm;

    int64_t rowChunks = std::max<int64_t>(1, target / std::max<int64_t>(colBlocks, 1));
    rowChunks = std::min(rowChunks, (rows + kMinRowsPerBlock - 1) / kMinRowsPerBlock);
    int64_t rowsPerBlock = std::min((rows + rowChunks - 1) / rowChunks, kMaxRowsPerBlock);
    rowChunks = (rows + rowsPerBlock - 1) / rowsPerBlock;

    const int64_t features = featuresFor(rowsPerBlock);
    // featuresFor is capped at inFeatures: a layer with fewer than 8 inputs has a whole (one-phase) tile of
    // fewer than 8 features, which is fine; only running out of shared memory below 8 features is an error.
    if (features < std::min<int64_t>(inFeatures, 8))
        throw std::runtime_error("condensed CUDA kernels: not enough shared memory for an input tile");
    plan.args.features = static_cast<int>(features);
    plan.args.phases = (inFeatures + features - 1) / features;
    plan.args.rowChunks = rowChunks;
    plan.args.rowsPerBlock = static_cast<int>(rowsPerBlock);
    plan.smemBytes = tileSmemBytes(cols, features, static_cast<int>(rowsPerBlock));
    if (plan.blocks() > INT32_MAX) throw std::runtime_error("condensed CUDA kernels: batch too large for one grid");
    return plan;
}

int tileColsFor(int64_t batch, int64_t inFeatures) {
    static const int forced = [] {
        const char* env = std::getenv("SRIGL_CUDA_TILE_COLS");
        const int v = env ? std::atoi(env) : 0;
        return v == 8 || v == 16 || v == 32 ? v : 0;
    }();
    if (forced) return forced;
    if (batch <= 8) return 8;
    if (batch <= 16) return 16;
    const size_t whole32 = tileSmemBytes(32, inFeatures, 256);
    return whole32 <= currentDevice().smemPerBlockOptin ? 32 : 16;
}

} // namespace detail
} // namespace srigl::cuda
