// The Studio's init-variance analysis behind plain types: the panel (no Torch headers) describes a
// layer and a sparsity sweep, and this runs the engine's initOutputNormVariance (the same code as
// `srigl analyze init-variance`) once per sparsity on the caller's thread, reporting progress and
// honouring a cancel flag between sparsities. Results come back only when every point finished.
#pragma once

#include "sessions/session/job_progress.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace srigl::sessions {

struct InitVarianceJobSettings {
    int64_t out = 100, in = 300;
    std::vector<double> sparsities{0.5, 0.75, 0.9, 0.95};
    std::string nm;       // "N:M" for every sparsity, or empty: per sparsity, the closest pattern
    int samples = 200;    // random initialisations per structure and sparsity
    int inputs = 16;      // random inputs per initialisation
    uint64_t seed = 1;
    bool layerAverageScale = false; // false: N(0, 2 / k_i) per neuron (the engine's init)
};

struct InitNormStats {
    double density = 0.0;  // kept fraction actually used
    double mean = 0.0;     // mean of ||y||
    double variance = 0.0; // unbiased variance of ||y|| over initialisations and inputs
};

struct InitVariancePoint {
    double sparsity = 0.0;
    std::string nm; // the N:M pattern used at this sparsity
    InitNormStats dense, unstructured, constantFanIn, nmMask;
};

using InitVarianceProgress = JobProgress;

class InitVarianceCancelled : public JobCancelled {
public:
    InitVarianceCancelled() : JobCancelled("init-variance analysis cancelled") {}
};

// The largest layer (out x in) the Studio samples: a chunk of initialisations holds at least one
// [out, in] weight matrix per structure.
constexpr int64_t kInitVarianceMaxEntries = int64_t{1} << 24;

// Every setting is checked by the engine itself before anything long runs, so bad input fails at
// once with the engine's message (std::invalid_argument, or ConfigError for a bad "N:M"); an empty
// sweep or a layer above kInitVarianceMaxEntries is refused here (std::invalid_argument). Throws
// InitVarianceCancelled when *cancel was set; returns one point per sparsity, in the given order.
std::vector<InitVariancePoint> runInitVarianceJob(const InitVarianceJobSettings& settings,
                                                  const std::function<void(const InitVarianceProgress&)>& progress = {},
                                                  const std::atomic<bool>* cancel = nullptr);

} // namespace srigl::sessions
