// Per-layer densities for a global sparsity: uniform or Erdos-Renyi-Kernel (ERK) with dense fallback.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

struct LayerShape {
    std::string name;
    std::vector<int64_t> dims; // weight dims: [out, in] or [out, in, kh, kw]
    int64_t numel() const;
    int64_t outFeatures() const { return dims.empty() ? 0 : dims[0]; }
    int64_t fanIn() const { return outFeatures() == 0 ? 0 : numel() / outFeatures(); }
};

enum class Distribution { Uniform, Erk };
Distribution parseDistribution(const std::string& name);

struct DistributionOptions {
    Distribution kind = Distribution::Erk;
    bool denseFirst = false;
    bool denseLast = false;
};

// Densities (1 - sparsity) per layer, so that the total number of kept weights equals
// (1 - sparsity) * total weights (up to rounding). Layers forced dense, and ERK layers whose
// density would exceed 1, get density 1 and the others share the rest.
std::vector<double> layerDensities(const std::vector<LayerShape>& layers, double sparsity,
                                   const DistributionOptions& options);

// Weights a layer of this density may keep: floor(numel * density).
int64_t layerBudget(const LayerShape& layer, double density);

} // namespace srigl
