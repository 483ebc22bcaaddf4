// Timing several variants of one computation side by side: each repetition runs every variant once,
// in a rotating order, so a burst of load on a shared machine hits all of them alike and their ratios
// stay honest. Shared by the inference and the training benchmarks.
#pragma once

#include "engine/inference/layer_bench.hpp"

#include <functional>
#include <string>
#include <vector>

namespace srigl {

struct Variant {
    std::string name;
    std::function<torch::Tensor()> run;
    std::vector<double> samples; // microseconds, one per timed repetition
};

// Warm-up (settings.warmup rounds), then repetitions until settings.targetSeconds per variant
// (between minReps and maxReps). Returns the repetitions; throws BenchCancelled on settings.cancel.
// On the CPU a sample is wall-clock time; on a GPU (settings.device "cuda", with our CUDA build) it is
// the time between two CUDA events recorded around the variant on LibTorch's current stream.
int timeSideBySide(std::vector<Variant*>& variants, const BenchSettings& settings);
// NaN for no samples.
double median(std::vector<double> samples);

} // namespace srigl
