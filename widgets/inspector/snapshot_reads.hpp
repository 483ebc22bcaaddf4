// Small, bounded reads of one run's mask snapshots for the inspector, heatmap and step scrubber:
// the list of mask-update steps, the layer names, and one layer at one step (with the snapshot
// before it and, when recorded at that step, its weights and gradients). Each is one indexed query, so a live
// run's store is read a little at a time instead of all of its snapshots at once.
#pragma once

#include "sessions/store/run_store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace srigl::studio {

struct LayerAtStep {
    int64_t runId = 0;
    int64_t requestedStep = 0;
    sessions::MaskRecord current;                 // the latest snapshot at or before requestedStep
    std::optional<sessions::MaskRecord> previous; // the one before it (none at the first snapshot)
    // The active weights in mask order when the run recorded them at current.step; none otherwise.
    std::optional<std::vector<float>> weights;
    // The dense [out, fan_in] gradient the update at current.step grew by, when recorded (RigL,
    // SRigL runs recorded with schema 5 or later); none otherwise.
    std::optional<std::vector<float>> gradients;
};

// Every step with a mask snapshot, ascending (empty for a run that has none yet).
std::vector<int64_t> maskSteps(sessions::RunStore& store, int64_t runId);
// The sparse layers in the order the run recorded them.
std::vector<std::string> maskLayers(sessions::RunStore& store, int64_t runId);
// Throws StoreError when the run or layer has no snapshot at or before `step`.
LayerAtStep layerAtStep(sessions::RunStore& store, int64_t runId, const std::string& layer, int64_t step);

} // namespace srigl::studio
