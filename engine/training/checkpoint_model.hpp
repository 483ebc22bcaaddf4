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

// Layers the checkpoint holds condensed (they trained condensed) are expanded to their dense form up
// to this many entries ([out, fan_in], 1 GiB as float32).
constexpr int64_t kReaderDenseEntries = int64_t{1} << 28;
// What happens to a larger one: a CheckpointError naming it, for readers that need dense weights; or
// it stays in its training form (SparseLayer::condensed), for readers that take that form
// (`srigl export --condensed`: CondensedModel).
enum class BeyondDense { Refuse, KeepCondensed };

// The config stored in a checkpoint (to resume a run without its original config file); throws
// CheckpointError when the file is missing or corrupt.
RunConfig readCheckpointConfig(const std::string& path);

// Throws CheckpointError when the file is missing, corrupt or does not fit the model it names.
CheckpointModel loadCheckpointModel(const std::string& path, BeyondDense beyond = BeyondDense::Refuse,
                                    int64_t maxDenseEntries = kReaderDenseEntries);

} // namespace srigl
