// Writes a model (no optimizer or trainer state) as a checkpoint that loadCheckpointModel reads, so
// `srigl export` and `srigl bench --run` take a converted model like any trained one.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/models/sparse_model.hpp"

#include <string>

namespace srigl::nm {

// Weights are written as the model computes with them (W * M). Atomic: written to PATH.tmp, then
// renamed. Throws CheckpointError when the file cannot be written. `runUuid`: the identity of the
// recorded run the checkpoint belongs to.
void saveModelCheckpoint(const std::string& path, const RunConfig& config, SparseModelImpl& model, int64_t step,
                         const std::string& runUuid = "");

} // namespace srigl::nm
