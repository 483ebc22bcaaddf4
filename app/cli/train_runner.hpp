// One training run as `srigl train` and `srigl sweep` present it: sessions::RecordedRun does the
// run and its record; this adds Ctrl-C (stop after the current step), the announcement and the
// messages and exit codes of the command line.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/training/trainer.hpp"
#include "engine/training/training_observer.hpp"
#include "sessions/session/recorded_run.hpp"
#include "sessions/store/recorder.hpp"
#include "sessions/store/run_store.hpp"

#include <functional>
#include <memory>
#include <string>

namespace srigl::cli {

struct TrainRequest {
    sessions::RunRequest run; // what to train and where to record it (sessions/session/recorded_run.hpp)
    bool json = false;        // announce the run as a JSON event, else as a line on stderr
    bool announce = true;
};

struct TrainOutcome {
    int exitCode = 0; // 0 done, 1 training failed, 2 bad config or input, 3 diverged, 130 stopped
    bool trained = false; // false: set-up failed (message printed), nothing trained
    int64_t runId = 0;
    TrainingSummary summary;
    std::string method, device;
    std::string recordingError;
    sessions::Recorder::Cost recordingCost;
    DistributedInfo distributed;
};

// Set-up errors are printed as "<prefix>: <kind> error: <message>" with exit code 2.
TrainOutcome trainRun(const TrainRequest& request, TrainingObserver& console, const std::string& prefix);

// Prints the message of the exception being handled, as set-up errors are printed, and returns 2
// (1 for a DistributedError: the input was fine, a worker or the network was not).
// Call only inside a catch block.
int reportSetupError(const std::string& prefix);

} // namespace srigl::cli
