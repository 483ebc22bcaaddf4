// A layer's recorded weights over a run as dense matrices with the mask each was stored against:
// what heatmaps (pictures, videos, the Studio's weight view) are drawn from.
#pragma once

#include "engine/training/training_observer.hpp"
#include "sessions/store/run_store.hpp"

#include <string>
#include <vector>

namespace srigl::sessions {

struct WeightFrame {
    int64_t step = 0;
    LayerWeightSnapshot weights; // dense [out, fan_in], zero outside the mask
    LayerMaskSnapshot mask;      // the layer's mask at that step
};

// Every recorded weight snapshot of the layer, oldest first. Throws StoreError when the run has
// none for that layer (naming the layers it has) or a snapshot does not match its mask.
std::vector<WeightFrame> weightHistory(RunStore& store, int64_t runId, const std::string& layer);

} // namespace srigl::sessions
