// How a config about to be trained here is described in the store (method, model, BLAS, threads):
// needs the engine's threading info, so it lives beside the Torch side of sessions, not in the store.
#pragma once

#include "engine/config/run_config.hpp"
#include "sessions/store/run_store.hpp"

#include <vector>

namespace srigl::sessions {

// The run's sparsity as the store lists it: the config's target for methods that keep one; for
// trainable_threshold (which learns its own) 1 - tt_target_density when that is set, else 0, the
// dense mask it starts from, until the recorded run stores the sparsity it reached
// (reachedSparsity of its layers) when it ends.
NewRun describeRun(const RunConfig& config);

// The fraction of zero mask entries over all these layers together (each weighted by its size).
double reachedSparsity(const std::vector<LayerUpdateStats>& layers);

} // namespace srigl::sessions
