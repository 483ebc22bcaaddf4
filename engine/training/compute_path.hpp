// Which way each sparse layer computes while it trains (config key sparse_compute): the condensed
// kernels on values + indices, or LibTorch's dense ops on masked weights. `auto` follows a rule read
// off `srigl bench --training` on both kinds of CPU (docs/benchmarks.md, "Condensed training").
#pragma once

#include "engine/config/run_config.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

struct LayerComputeQuery {
    std::vector<int64_t> shape; // weight shape: [out, in] or [out, in, kh, kw]
    double density = 1.0;
    bool constantFanIn = false; // the method keeps exactly k inputs per active neuron (srigl)
    bool nm = false;
    int64_t stride = 1;       // convolutions
    int64_t outputPixels = 0; // convolutions: output height x width of one image (0: unknown)
    // This CPU has AVX-512: LibTorch's dense convolutions gain more from it than the direct kernels'
    // short rows do, so small images need sparser layers there.
    bool avx512 = false;
    // Convolutions: with stride 1 and a padding of at most the kernel less one, the direct kernels lay
    // images out with shared borders (kernels::ConvGeometry::sharedBorder), which pays on 4x4 outputs.
    int64_t padding = 0;
};

// "condensed", "masked_dense" or "dense" (a layer kept dense computes densely whatever the key says).
std::string computePathFor(const RunConfig& config, const LayerComputeQuery& layer);

// The measured rule behind `auto`: does the condensed path beat masked-dense for this layer at this
// batch size?
bool condensedPays(const LayerComputeQuery& layer, int64_t batch);

} // namespace srigl
