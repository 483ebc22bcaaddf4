// The timing panel's benchmark, behind plain types: the Studio (no Torch headers) describes the
// cases, and this runs them through the engine's layer benchmark on the caller's thread, reporting
// progress and honouring a cancel flag. Rows are stored only when every case finished, so a
// cancelled or failed bench leaves nothing half-done in the timings table.
#pragma once

#include "sessions/session/job_progress.hpp"
#include "sessions/store/run_store.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace srigl::sessions {

struct BenchJobSettings {
    std::string device = "cpu"; // "cpu" or "cuda"
    // A synthetic constant fan-in layer (runId == 0): every sparsity times every batch.
    int64_t inFeatures = 1024, outFeatures = 1024;
    std::vector<double> sparsities{0.9};
    double ablatedFraction = 0.0;
    uint64_t seed = 0;
    // runId > 0: the classifier layers of that run's last checkpoint instead (every batch); the
    // rows are tied to the run. Needs dbPath.
    int64_t runId = 0;
    std::vector<int64_t> batches{1, 64};
    double secondsPerVariant = 0.05; // timing budget per variant and case, after warm-up
    std::string dbPath;              // where the rows go; empty: not stored
};

using BenchJobProgress = JobProgress;

class BenchJobCancelled : public JobCancelled {
public:
    BenchJobCancelled() : JobCancelled("benchmark cancelled; nothing was stored") {}
};

// True when this LibTorch build sees a CUDA device (the panel offers "cuda" then).
bool benchCudaAvailable();

// Throws std::invalid_argument for bad settings (no batches, sparsity outside [0, 1), unknown
// device, cuda without a GPU), StoreError / CheckpointError for a run without a usable checkpoint,
// InferenceError when a variant disagrees with dense, and BenchJobCancelled when *cancel was set
// (then nothing is stored). Returns the rows, as stored.
std::vector<TimingRecord> runBenchJob(const BenchJobSettings& settings,
                                      const std::function<void(const BenchJobProgress&)>& progress = {},
                                      const std::atomic<bool>* cancel = nullptr);

} // namespace srigl::sessions
