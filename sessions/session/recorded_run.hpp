// One training run from start to its final record, as every front end does it (`srigl train`,
// `srigl sweep`, the Studio's live session): validate, create or reopen the recorded run, chain the
// live slot and the recorder in front of the caller's observer, step the trainer (the caller may
// pause or stop between steps), and finish the record with the run's status and error text. Like
// Tracy's one Worker shared by its GUI and its capture tool, the front ends only present it.
//
// Rules every recorded run follows: its checkpoint is never one of the database's files, it
// carries the run's identity, and a resume takes the run exclusively and only from that run's
// own checkpoint.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/distributed/data_parallel_options.hpp"
#include "engine/errors.hpp"
#include "engine/training/checkpoint_file.hpp"
#include "engine/training/trainer.hpp"
#include "sessions/session/live_slot.hpp"
#include "sessions/store/recorder.hpp"
#include "sessions/store/run_store.hpp"

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>

namespace srigl::sessions {

struct RunRequest {
    RunConfig config;
    std::string checkpoint; // continue from this checkpoint file; "" trains from step 0
    std::string dbPath;     // "" : not recorded
    // A recorded run to continue from `checkpoint` (its records after the checkpoint's step are
    // dropped), or to train again from step 0 when `checkpoint` is "" (all its records are
    // dropped; a sweep point killed before its first checkpoint); 0: a new run.
    int64_t runId = 0;
    // Called once the run exists in the store, before training starts (a sweep links its point).
    std::function<void(int64_t runId)> onRecorded;
    // Set: this process is one worker of a data-parallel run (rank 0 alone should record).
    std::shared_ptr<ProcessGroup> group;
    DataParallelOptions parallel;
    bool publishLive = false; // keep a LiveSlot with the latest masks and weights (the Studio)
    // Called (on the recorder's thread) when recording starts or stops waiting for the database,
    // or sheds held records: a front end says so while training goes on.
    std::function<void(const RecordingHealth&)> onRecordingHealth;
};

// The request that continues recorded run `runId` of the database at `dbPath` from its latest
// checkpoint, with the config the checkpoint was trained with. Marks runs of dead processes
// interrupted first; CheckpointError for a run still training or without a checkpoint.
RunRequest resumeRequest(const std::string& dbPath, int64_t runId);
// The checkpoint a recorded run continues from (as resumeRequest finds it).
std::string recordedCheckpoint(RunStore& store, int64_t runId);

// What a run ended with. The record in the store says the same (status, steps, accuracy, error).
struct RunEnd {
    TrainingSummary summary;    // valid when failure is empty
    int64_t steps = 0;          // the trainer's step when it ended
    RunStatus status = RunStatus::Failed;
    std::string failure;        // training threw: its message (LibTorch's backtrace stripped)
    std::string recordingError; // the recorder's first write error, or what it could not store (training went on)
    std::string storeError;     // finishing the record failed
    Recorder::Cost recordingCost;
    DistributedInfo distributed;
};

// Between steps, what the driver of a run wants: nothing for the CLI (Ctrl-C reaches the trainer's
// requestStop), pause, single steps, stop and checkpoint-now for the Studio.
class StepGate {
public:
    virtual ~StepGate() = default;
    // Blocks while the run is paused; false ends the run here (stopped).
    virtual bool beforeStep() = 0;
    // After each step; true writes the run's checkpoint now.
    virtual bool afterStep(int64_t step) = 0;
};

class RecordedRun {
public:
    // Validates everything before the store hears of the run (a bad config records nothing), loads
    // the checkpoint, joins the process group, creates or reopens the run. Throws ConfigError,
    // DataError, CheckpointError, StoreError, DistributedError or a LibTorch error; nothing is
    // recorded then.
    RecordedRun(const RunRequest& request, TrainingObserver* observer);
    ~RecordedRun();
    RecordedRun(const RecordedRun&) = delete;
    RecordedRun& operator=(const RecordedRun&) = delete;

    Trainer& trainer() { return *trainer_; }
    int64_t runId() const { return runId_; } // 0 when not recorded
    bool recorded() const { return store_ != nullptr; }
    LiveSlot* live() { return live_.get(); } // null unless request.publishLive

    // Trains to the end (or a stop), then finishes the record. Never throws: a failure is in RunEnd.
    RunEnd train(StepGate* gate = nullptr);

private:
    RunRequest request_;
    std::unique_ptr<Trainer> trainer_;
    std::unique_ptr<RunStore> store_;
    std::unique_ptr<Recorder> recorder_;
    std::unique_ptr<LiveSlot> live_;
    int64_t runId_ = 0;
    bool trained_ = false;
};

// An exception's message for people: LibTorch's errors without their C++ backtrace.
std::string errorMessage(const std::exception& e);

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
// Trains recorded run `runId` again from step 0 with a trainer that loaded no checkpoint: the run
// is claimed (StoreError while another process trains it), all its records are dropped, and the
// trainer gets the run's identity and its own checkpoint file.
void recordRestartedRun(RunStore& store, Trainer& trainer, int64_t runId);

} // namespace srigl::sessions
