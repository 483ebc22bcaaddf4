// Output-norm variance at initialisation (the SRigL paper's argument that constant fan-in does not
// destabilise training): one layer, many random initialisations, dense vs unstructured vs constant
// fan-in vs N:M at the same sparsity, variance of ||W x|| over initialisations and inputs.
#pragma once

#include "engine/nm/nm_pattern.hpp"

#include <cstdint>

namespace srigl::nm {

enum class InitScale {
    PerNeuron,    // the engine's sparse init: N(0, 2 / k_i), k_i = weights kept by neuron i
    LayerAverage, // N(0, 2 / (density * fan_in)) for every neuron (scaled by the average fan-in)
};

struct InitVarianceOptions {
    int64_t out = 100;
    int64_t in = 300;
    double sparsity = 0.9;
    NmPattern nm{0, 0}; // n = 0: derived from the sparsity (see initOutputNormVariance)
    int samples = 1000;  // random initialisations (masks and weights drawn afresh each time)
    int inputs = 16;     // random inputs x ~ N(0, I) per initialisation
    uint64_t seed = 1;
    InitScale scale = InitScale::PerNeuron;
};

struct NormStats {
    double density = 0;  // kept fraction actually used
    double mean = 0;     // mean of ||y||
    double variance = 0; // unbiased variance of ||y|| over samples * inputs
};

struct InitVarianceResult {
    NmPattern nm;        // the N:M pattern used
    NormStats dense, unstructured, constantFanIn, nmMask;
};

// N:M when options.nm.n == 0: M = 4, 8, 16, ... (the smallest with N = round((1 - s) * M) >= 1 and
// within 0.05 of the requested density, else the best up to 64), N = that rounding. Masks are random
// (independent of the weights), as at initialisation. Deterministic for a seed.
InitVarianceResult initOutputNormVariance(const InitVarianceOptions& options);

} // namespace srigl::nm
