// The rules every recorded run follows, whoever starts it (`srigl train`, `srigl sweep`, the
// Studio): its checkpoint is never one of the database's files, it carries the run's identity, and
// a resume takes the run exclusively and only from that run's own checkpoint.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"
#include "engine/training/checkpoint_file.hpp"
#include "sessions/store/run_store.hpp"

#include <cstdint>
#include <string>

namespace srigl {
class Trainer;
}

namespace srigl::sessions {

// ConfigError (key checkpoint) when `checkpoint` is the database at `dbPath` or one of its
// companion files (-wal, -shm, -journal), which the final rename would destroy.
void requireCheckpointApartFromStore(const std::string& checkpoint, const std::string& dbPath);

// Creates the run for `trainer` (built from `config`), gives the trainer the run's identity and,
// when the config names no checkpoint, the run's default checkpoint file. Returns the run id.
int64_t recordNewRun(RunStore& store, Trainer& trainer, const RunConfig& config);

// Continues recorded run `runId` with a trainer that loaded `loaded` from its checkpoint:
// CheckpointError for a checkpoint of another run, StoreError while another process trains the
// run; otherwise the run is claimed (reopenRun) with the trainer's config.
void recordResumedRun(RunStore& store, Trainer& trainer, int64_t runId, const CheckpointHeader& loaded);

} // namespace srigl::sessions
