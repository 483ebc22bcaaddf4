// Shared start and resume of recorded runs.
#include "sessions/session/recorded_run.hpp"

#include "engine/errors.hpp"
#include "engine/training/trainer.hpp"
#include "sessions/session/run_description.hpp"

#include <cstdio>
#include <filesystem>

namespace srigl::sessions {
namespace {

std::string canonical(const std::string& path) {
    std::error_code ec;
    auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    return ec ? std::filesystem::absolute(path).lexically_normal().string() : p.string();
}

} // namespace

void requireCheckpointApartFromStore(const std::string& checkpoint, const std::string& dbPath) {
    if (checkpoint.empty() || dbPath.empty()) return;
    const std::string target = canonical(checkpoint);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        const std::string file = dbPath + suffix;
        std::error_code ec;
        if (target == canonical(file) || std::filesystem::equivalent(checkpoint, file, ec))
            throw ConfigError("checkpoint", "'" + checkpoint + "' is " +
                                                (*suffix ? "a companion file of the run database '" + dbPath + "'"
                                                         : std::string("the run database itself")) +
                                                "; writing a checkpoint there would destroy every recorded run");
    }
}

int64_t recordNewRun(RunStore& store, Trainer& trainer, const RunConfig& config) {
    requireCheckpointApartFromStore(config.checkpoint, store.path());
    const int64_t runId = store.createRun(describeRun(config));
    const std::string uuid = store.run(runId).uuid;
    trainer.setRunIdentity(uuid);
    // A recorded run can always be resumed after a crash: checkpoint it when the config does not
    // say where.
    if (config.checkpoint.empty()) {
        trainer.setCheckpointFile(defaultCheckpointPath(store.path(), runId, uuid),
                                  config.checkpoint_every > 0 ? config.checkpoint_every : kDefaultCheckpointEvery);
        // Stored as trained, so a resume with the same keys records no config change.
        store.setConfig(runId, configToJson(trainer.config(), -1));
    }
    return runId;
}

void recordResumedRun(RunStore& store, Trainer& trainer, int64_t runId, const CheckpointHeader& loaded) {
    const RunInfo info = store.run(runId);
    requireCheckpointApartFromStore(trainer.config().checkpoint, store.path());
    if (loaded.legacy) {
        std::fprintf(stderr, "warning: run %lld resumes from a checkpoint written before checkpoints carried their "
                             "run's identity; it cannot be checked to be this run's own\n",
                     static_cast<long long>(runId));
    } else if (loaded.runUuid != info.uuid) {
        throw CheckpointError("the checkpoint of run " + std::to_string(runId) + " belongs to " +
                              (loaded.runUuid.empty() ? std::string("a run that was not recorded")
                                                      : "another run (identity " + loaded.runUuid + ")") +
                              ", not to this one (identity " + info.uuid + "); refusing to continue run " +
                              std::to_string(runId) + " with another run's model");
    }
    store.reopenRun(runId, trainer.step(), configToJson(trainer.config(), -1));
    trainer.setRunIdentity(info.uuid);
}

} // namespace srigl::sessions
