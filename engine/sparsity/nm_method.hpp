// The N:M training methods (nm_ste, srste, nm_transposable; docs/algorithms.md): which methods they
// are and the mask each one derives from the current dense weights.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/nm/nm_pattern.hpp"

#include <torch/torch.h>

namespace srigl {

bool isNmMethod(const std::string& method);

// What an N:M method needs to (re)compute and check a layer's mask; built once from the config.
struct NmMethod {
    nm::NmPattern pattern;
    bool transposable = false; // nm_transposable: tiles keep N per row and column
    bool exactSolver = false;  // nm_solver=exact, else greedy with repair
    int threads = 0;           // tile threads for the transposable solver (the run's thread count)

    static NmMethod fromConfig(const RunConfig& config);

    // Bool mask of weight's shape: top-N |w| per group, or a transposable N:M mask.
    torch::Tensor mask(const torch::Tensor& weight) const;
    // Every group keeps exactly N (and, when transposable, every tile row and column).
    bool valid(const torch::Tensor& mask) const;
};

} // namespace srigl
