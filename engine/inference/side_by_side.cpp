// Rotating side-by-side timing with medians (see side_by_side.hpp).
#include "engine/inference/side_by_side.hpp"

#include "engine/kernels/cuda/condensed_cuda.hpp"
#include "engine/kernels/cuda/current_stream.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

namespace srigl {
namespace {

void synchronize(const BenchSettings& s) {
    if (s.device == "cuda") torch::cuda::synchronize();
}

double runOnceUs(Variant& v, const BenchSettings& s) {
    if (s.device == "cuda" && cuda::kernelsBuilt()) {
        // GPU time between two CUDA events on LibTorch's stream: what the variant costs the GPU,
        // launch gaps included, without the host's wait for the result.
        static thread_local cuda::EventTimer timer;
        void* stream = currentCudaStream();
        timer.start(stream);
        torch::Tensor y = v.run();
        return 1000.0 * timer.stopMs(stream);
    }
    const auto t0 = std::chrono::steady_clock::now();
    torch::Tensor y = v.run();
    synchronize(s);
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

} // namespace

double median(std::vector<double> v) {
    if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int timeSideBySide(std::vector<Variant*>& variants, const BenchSettings& s) {
    double round = 0.0;
    for (int w = 0; w < std::max(1, s.warmup); ++w) {
        round = 0.0;
        for (Variant* v : variants) round += runOnceUs(*v, s);
    }
    const double perRound = std::max(round, 1.0) * 1e-6;
    const int reps = std::clamp(static_cast<int>(s.targetSeconds * static_cast<double>(variants.size()) / perRound),
                                s.minReps, s.maxReps);
    for (int r = 0; r < reps; ++r) {
        if (s.cancel && s.cancel->load()) throw BenchCancelled();
        for (size_t i = 0; i < variants.size(); ++i) {
            Variant* v = variants[(i + static_cast<size_t>(r)) % variants.size()];
            v->samples.push_back(runOnceUs(*v, s));
        }
    }
    return reps;
}

} // namespace srigl
