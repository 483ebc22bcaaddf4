// How a config about to be trained here is described in the store (method, model, BLAS, threads):
// needs the engine's threading info, so it lives beside the Torch side of sessions, not in the store.
#pragma once

#include "engine/config/run_config.hpp"
#include "sessions/store/run_store.hpp"

namespace srigl::sessions {

NewRun describeRun(const RunConfig& config);

} // namespace srigl::sessions
