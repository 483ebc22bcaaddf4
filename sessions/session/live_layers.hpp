// The masks and weights of every sparse layer at one step, as the training thread publishes them
// for views that draw a run while it trains (the Studio's inspector, heatmap and layer statistics).
// Immutable once published: readers share it through a shared_ptr without copying or locking, and
// the store is left to history and finished runs.
#pragma once

#include "engine/training/training_observer.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace srigl::sessions {

struct LiveLayers {
    int64_t runId = 0;     // the recorded run (0 when not recorded)
    int64_t step = 0;      // the trainer's step when published (the masks as of after that step)
    uint64_t sequence = 0; // 1 for a run's first publication, one more for each after it
    bool maskUpdate = false; // published by a mask update (else at start or on the step cadence)
    std::chrono::steady_clock::time_point publishedAt;
    std::vector<LayerUpdateStats> stats; // every sparse layer, in the trainer's order
    // Every sparse layer's mask, and the masks of the publication before this one (none for the
    // first): the "changed since the last update" pictures need both. Shared, so a publication
    // holds at most two generations of masks.
    std::shared_ptr<const std::vector<LayerMaskSnapshot>> masks;
    std::shared_ptr<const std::vector<LayerMaskSnapshot>> previousMasks;
    // Dense [out, fan_in] weights in the order of `masks` (a layer too large to copy is absent;
    // match by name); empty when weights are not published.
    std::vector<LayerWeightSnapshot> weights;
    // The dense gradients this mask update grew by (RigL, SRigL); empty otherwise.
    std::vector<LayerWeightSnapshot> gradients;

    const LayerMaskSnapshot* mask(const std::string& layer) const;
    const LayerMaskSnapshot* previousMask(const std::string& layer) const;
    const LayerWeightSnapshot* weight(const std::string& layer) const;
    const LayerWeightSnapshot* gradient(const std::string& layer) const;
    const LayerUpdateStats* layerStats(const std::string& layer) const;
};

} // namespace srigl::sessions
