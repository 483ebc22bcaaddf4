// Transposable N:M masks of a whole layer: M(out) x M(in) tiles (conv: at each kernel position),
// each keeping exactly N per row and per column, so W is N:M along `in` and W^T along `out`.
#pragma once

#include "engine/nm/nm_pattern.hpp"

#include <torch/torch.h>

#include <cstdint>

namespace srigl::nm {

enum class TransposableSolver {
    Exact,        // optimal per tile: exhaustive for M = 4, min-cost flow otherwise
    MinCostFlow,  // optimal per tile, always the flow solver (for comparisons)
    Greedy,       // 2-approximation; may leave rows/columns short of N (not a valid mask then)
    GreedyRepair, // greedy, then augmenting paths until every row and column keeps exactly N
};

struct TransposableOptions {
    TransposableSolver solver = TransposableSolver::GreedyRepair;
    int threads = 0;               // <= 0: one per core; tiles are split into contiguous chunks
    bool compareWithOptimum = false; // also solve exactly to report keptMass / optimalMass
};

struct TransposableStats {
    int64_t tiles = 0;
    int64_t partialTiles = 0;     // tiles cut by the layer's edge (padded, see below)
    int64_t underfilledTiles = 0; // tiles the greedy left short of N somewhere (before any repair)
    int64_t missingEntries = 0;   // kept entries short of N*M summed over those tiles
    double keptMass = 0;          // sum of |w| kept (real weights only)
    double optimalMass = -1;      // the exact optimum; -1 when not computed
    double relativeMass() const { return optimalMass > 0 ? keptMass / optimalMass : (optimalMass == 0 ? 1.0 : -1.0); }
    double seconds = 0;
    int threads = 1;
};

struct TransposableResult {
    torch::Tensor mask; // bool, weight's shape and device
    TransposableStats stats;
};

// Layers whose out or in is not a multiple of M: edge tiles are padded with zero weights that the
// solver may keep only where real weights cannot satisfy N per row/column (pads rank below every
// real weight), i.e. the mask is the real part of a valid padded transposable mask - what padding
// the matrix to the hardware's tile size gives. M <= 64.
TransposableResult transposableMask(const torch::Tensor& weight, NmPattern pattern,
                                    const TransposableOptions& options = {});

// True when every full tile keeps exactly N in each row and column, and every edge tile can be
// completed to such a tile by keeping padding entries only.
bool transposableValid(const torch::Tensor& mask, NmPattern pattern);

} // namespace srigl::nm
