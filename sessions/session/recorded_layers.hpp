// A recorded run's layers rebuilt from the store alone (the last mask snapshot and the weights stored
// with it, float16) as [out, fan_in] matrices: what `srigl bench --run` times for an imported run,
// which has no checkpoint of the engine's own. The store keeps no layer kinds, so a convolution is
// timed as its [out, in * kh * kw] matrix, the product its im2col form computes.
#pragma once

#include "engine/inference/layer_bench.hpp"
#include "sessions/store/run_store.hpp"

#include <string>
#include <vector>

namespace srigl::sessions {

struct RecordedLayers {
    std::vector<MaskedLayer> layers;  // layers with constant fan-in (k > 0), no bias
    std::vector<std::string> skipped; // "<layer>: why", for the other layers
};

// Throws StoreError when the run has no weights recorded for a layer it has masks of.
RecordedLayers recordedMatrixLayers(RunStore& store, int64_t runId);

} // namespace srigl::sessions
