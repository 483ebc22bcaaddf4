// `srigl import`: PyTorch checkpoints trained elsewhere become one recorded run (status imported),
// one mask and weight snapshot per layer and file, so every view of recorded runs works on them.
#pragma once

#include "engine/training/training_observer.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace srigl::sessions {

struct ImportRequest {
    std::string dbPath;
    std::vector<std::string> files; // checkpoints of one training, in any order
    std::string name;               // the run's name; "" names it after the first file
};

struct ImportedSnapshot {
    std::string file;
    int64_t step = 0;
    std::vector<LayerUpdateStats> layers; // with pruned, regrown and SAD against the previous file
    std::vector<std::string> maskSources; // per layer: the tensor its mask came from
};

struct ImportResult {
    int64_t runId = 0;
    double sparsity = 0.0; // of the last snapshot, over all layers
    std::vector<ImportedSnapshot> snapshots; // in step order
};

// The step of a checkpoint from its file name: the last number in it ("step_1200.pt" -> 1200,
// "epoch-3.pt" -> 3); -1 when it has none.
int64_t stepFromFileName(const std::string& file);

// Reads and checks every file before the store is touched, so bad input records nothing: a file
// that cannot be read (CheckpointError naming it), files whose layers differ in names or shapes.
// Snapshots are at the steps in the file names when every file has a different one, else at
// 0, 1, 2, ... in the order given. The run carries the tags "imported" and "source:<file name>" (of
// its first snapshot's file) and every file's path in its notes. The run is recorded in one
// transaction: a store failure, a lock held too long or a kill leaves nothing of it.
//
// `beforeFile` (optional) is called before each file is read, with its index, the number of files
// and its path; it may throw to stop the import there (nothing is recorded yet at that point).
using ImportFileStep = std::function<void(size_t index, size_t files, const std::string& path)>;
ImportResult importCheckpoints(const ImportRequest& request, const ImportFileStep& beforeFile = {});

} // namespace srigl::sessions
