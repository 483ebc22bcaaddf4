// The trained model stored in a checkpoint, without data or optimizer: what inference, export and
// benchmarks of a recorded run need.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/models/sparse_model.hpp"

#include <memory>
#include <string>

namespace srigl {

struct CheckpointModel {
    RunConfig config;
    std::shared_ptr<SparseModelImpl> model; // on the CPU, in eval mode
    int64_t step = 0;
};

// Throws CheckpointError when the file is missing, corrupt or does not fit the model it names.
CheckpointModel loadCheckpointModel(const std::string& path);

} // namespace srigl
