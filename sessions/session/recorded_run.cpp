// The lifecycle of a recorded run: set-up, training between the caller's gates, the final record.
#include "sessions/session/recorded_run.hpp"

#include "engine/errors.hpp"
#include "engine/sparsity/trainable_threshold.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "engine/training/trainer.hpp"
#include "sessions/session/run_description.hpp"
#include "sessions/store/store_retry.hpp"
#include "sessions/store/writer_stamp.hpp"

#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

namespace srigl::sessions {
namespace {

std::string canonical(const std::string& path) {
    std::error_code ec;
    auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    return ec ? std::filesystem::absolute(path).lexically_normal().string() : p.string();
}

RunStatus storeStatus(TrainingStatus s) {
    switch (s) {
    case TrainingStatus::Finished: return RunStatus::Finished;
    case TrainingStatus::Stopped: return RunStatus::Stopped;
    case TrainingStatus::Diverged: return RunStatus::Failed;
    }
    return RunStatus::Failed;
}

} // namespace

std::string errorMessage(const std::exception& e) {
    const auto* torchError = dynamic_cast<const c10::Error*>(&e);
    return torchError ? torchError->what_without_backtrace() : e.what();
}

std::string recordedCheckpoint(RunStore& store, int64_t runId) {
    store.markInterrupted();
    const auto info = store.run(runId);
    if (RunStore::isLive(info))
        throw CheckpointError("run " + std::to_string(runId) + " is still being trained by process " +
                              std::to_string(info.pid) + " on " + info.host +
                              (info.host == hostName()
                                   ? std::string()
                                   : "; if that machine's process is gone (a killed job, a failed node), release the "
                                     "run first: srigl runs release " + std::to_string(runId)));
    if (auto last = store.lastCheckpoint(runId)) return last->second;
    // Killed between writing its first checkpoint and recording it: the file the run's config names.
    const auto config = nlohmann::json::parse(info.config, nullptr, false);
    if (config.is_object() && config.value("checkpoint", std::string()) != "") {
        const std::string file = locateCheckpoint(store.path(), config.value("checkpoint", std::string()));
        if (std::filesystem::exists(file)) return file;
    }
    throw CheckpointError("run " + std::to_string(runId) + " has no checkpoint to resume from");
}

RunRequest resumeRequest(const std::string& dbPath, int64_t runId) {
    RunStore store(dbPath, RunStore::Mode::ReadWriteExisting); // a resume never creates a database
    RunRequest request;
    request.dbPath = dbPath;
    request.runId = runId;
    request.checkpoint = recordedCheckpoint(store, runId);
    request.config = readCheckpointConfig(request.checkpoint);
    return request;
}

RecordedRun::RecordedRun(const RunRequest& given, TrainingObserver* observer) : request_(given) {
    // The recorded config names the module file absolutely: a resume, an export or the Studio
    // may run from another directory.
    if (!request_.config.model_path.empty()) request_.config.model_path = canonical(request_.config.model_path);
    if (!request_.dbPath.empty() && !request_.config.checkpoint.empty()) {
        namespace fs = std::filesystem;
        // A run recorded before checkpoint paths were stored absolutely names its file relative to
        // the directory it was trained in; resumed from another one, its file is the one found
        // for the resume (same name), not that name under the current directory.
        const fs::path named(request_.config.checkpoint);
        std::error_code ec;
        if (request_.runId && named.is_relative() && !request_.checkpoint.empty() && !fs::exists(named, ec) &&
            named.filename() == fs::path(request_.checkpoint).filename())
            request_.config.checkpoint = request_.checkpoint;
        // Stored absolutely (not canonically: a link stays a link): a resume, an export or
        // `runs delete` may run from another working directory.
        request_.config.checkpoint = fs::absolute(request_.config.checkpoint, ec).lexically_normal().string();
    }
    const RunRequest& request = request_;
    const bool record = !request.dbPath.empty();
    if (record) requireCheckpointApartFromStore(request.config.checkpoint, request.dbPath);
    trainer_ = std::make_unique<Trainer>(request.config, observer);
    CheckpointHeader loaded;
    if (!request.checkpoint.empty()) loaded = trainer_->loadCheckpoint(request.checkpoint);
    if (request.group) trainer_->enableDataParallel(request.group, request.parallel);
    if (record) {
        // A resume never creates a database (a mistyped --db would start an empty one).
        store_ = std::make_unique<RunStore>(request.dbPath,
                                            request.runId ? RunStore::Mode::ReadWriteExisting : RunStore::Mode::ReadWrite);
        if (request.runId) {
            runId_ = request.runId;
            if (request.checkpoint.empty())
                recordRestartedRun(*store_, *trainer_, runId_);
            else
                recordResumedRun(*store_, *trainer_, runId_, loaded);
        } else {
            runId_ = recordNewRun(*store_, *trainer_, request.config);
        }
        if (request.onRecorded) request.onRecorded(runId_);
    }
    // The chain: trainer -> live slot -> recorder -> the caller's observer. The recorder stores the
    // masks and weights the slot has just published instead of copying the trainer's state again.
    Trainer* t = trainer_.get();
    if (request.publishLive)
        live_ = std::make_unique<LiveSlot>([t] { return t->maskSnapshot(); }, [t] { return t->weightSnapshots(); },
                                           [t] { return t->step(); });
    LiveSlot* slot = live_.get();
    TrainingObserver* front = observer;
    if (record) {
        recorder_ = std::make_unique<Recorder>(
            request.dbPath, runId_,
            [t, slot] {
                if (auto l = slot ? slot->publishedAt(t->step()) : nullptr) return *l->masks;
                return t->maskSnapshot();
            },
            observer);
        recorder_->setWeightSource([t, slot] {
            if (auto l = slot ? slot->publishedAt(t->step()) : nullptr) return l->weights;
            return t->weightSnapshots();
        });
        recorder_->setStartStep(trainer_->step());
        if (request.onRecordingHealth) recorder_->setHealthListener(request.onRecordingHealth);
        front = recorder_.get();
    }
    if (slot) {
        slot->setNext(front);
        slot->setRunId(runId_);
        front = slot;
    }
    trainer_->setObserver(front);
}

RecordedRun::~RecordedRun() {
    if (trained_ || !store_) return;
    // Set up but never trained (the caller gave up): the run must not stay "running".
    if (recorder_) recorder_->close();
    try {
        retryWhileItMayPass([&] {
            store_->finishRun(runId_, RunStatus::Stopped, trainer_->step(), -1.0, "closed before training started");
        });
    } catch (const std::exception&) {
        // The process is alive, so the run cannot be marked interrupted later: nothing more to do.
    }
}

RunEnd RecordedRun::train(StepGate* gate) {
    trained_ = true;
    RunEnd end;
    try {
        trainer_->begin();
        for (;;) {
            if (gate && !gate->beforeStep()) break;
            if (!trainer_->trainStep()) break;
            if (gate && gate->afterStep(trainer_->step())) trainer_->writeCheckpoint();
        }
        end.summary = trainer_->finish();
    } catch (const std::exception& e) {
        end.failure = errorMessage(e);
    }
    end.steps = trainer_->step();
    end.status = end.failure.empty() ? storeStatus(end.summary.status) : RunStatus::Failed;
    end.distributed = trainer_->distributedInfo();
    if (recorder_) {
        // Recording failures never stop training; they are reported once, here.
        end.recordingError = recorder_->close();
        end.recordingCost = recorder_->cost();
    }
    if (store_) {
        try {
            // The run's final record, retried while another process holds the lock: losing it
            // would leave a finished run reading as interrupted, without its accuracy.
            retryWhileItMayPass([&] {
                // Not when another process has claimed the run since (RunTakenOver): its record is its own.
                store_->requireClaim(runId_);
                // A method that learns its own sparsity is listed (and plotted) at what it reached.
                if (isTrainableThreshold(trainer_->config().method))
                    store_->setSparsity(runId_, reachedSparsity(trainer_->layerStats()));
                // Why a run failed (it threw, or its loss became NaN), and whether its history has a
                // hole, where `runs show` and the Studio read it.
                std::string note = !end.failure.empty() ? end.failure
                                   : end.summary.status == TrainingStatus::Diverged ? end.summary.message
                                                                                    : std::string();
                if (end.failure.empty() && !end.recordingError.empty())
                    note += (note.empty() ? "" : "; ") + std::string("recording incomplete: ") + end.recordingError;
                store_->finishRun(runId_, end.status, end.steps,
                                  end.failure.empty() ? end.summary.testAccuracy : -1.0, note);
            });
        } catch (const std::exception& e) {
            end.storeError = e.what();
        }
    }
    return end;
}

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

namespace {

// Gives the trainer the run's own checkpoint file when its config names none, or names a file that
// holds another recorded run's checkpoint (a new run continued from another run's file with
// --resume FILE, a second run of one config file): overwriting it would leave that run nothing to
// resume from, and its export would be this run's model. A recorded run can always be resumed
// after a crash.
void claimCheckpointFile(RunStore& store, Trainer& trainer, int64_t runId, const std::string& uuid) {
    const RunConfig& config = trainer.config();
    CheckpointHeader held;
    const bool taken = !config.checkpoint.empty() && peekCheckpointHeader(config.checkpoint, held) &&
                       !held.runUuid.empty() && held.runUuid != uuid;
    if (!config.checkpoint.empty() && !taken) return;
    const std::string own = defaultCheckpointPath(store.path(), runId, uuid);
    if (taken)
        std::fprintf(stderr,
                     "warning: '%s' holds the checkpoint of another recorded run (identity %s); run %lld "
                     "writes its checkpoints to '%s' instead\n",
                     config.checkpoint.c_str(), held.runUuid.c_str(), static_cast<long long>(runId), own.c_str());
    const int64_t every = taken ? config.checkpoint_every
                                : config.checkpoint_every > 0 ? config.checkpoint_every : kDefaultCheckpointEvery;
    trainer.setCheckpointFile(own, every);
    // Stored as trained, so a resume with the same keys records no config change.
    store.setConfig(runId, configToJson(trainer.config(), -1));
}

} // namespace

int64_t recordNewRun(RunStore& store, Trainer& trainer, const RunConfig& config) {
    requireCheckpointApartFromStore(config.checkpoint, store.path());
    const int64_t runId = store.createRun(describeRun(config));
    const std::string uuid = store.run(runId).uuid;
    trainer.setRunIdentity(uuid);
    claimCheckpointFile(store, trainer, runId, uuid);
    return runId;
}

void recordRestartedRun(RunStore& store, Trainer& trainer, int64_t runId) {
    const RunInfo info = store.run(runId);
    requireCheckpointApartFromStore(trainer.config().checkpoint, store.path());
    // From step 0 again: everything the run recorded before is dropped with the claim (step 0's
    // masks included, which the restarted run records again).
    store.reopenRun(runId, -1, configToJson(trainer.config(), -1));
    trainer.setRunIdentity(info.uuid);
    claimCheckpointFile(store, trainer, runId, info.uuid);
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
