// A live training session: an engine Trainer on a worker thread, recorded into the store, steered
// by commands (pause, resume, single step, stop, checkpoint) and publishing its latest snapshot
// for readers that must never wait on training (the Studio's UI thread).
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/training/training_observer.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace srigl::sessions {

enum class SessionState { Starting, Running, Paused, Finished, Stopped, Failed };
std::string toString(SessionState state);

// The latest of everything, copied out under a short lock.
struct SessionSnapshot {
    SessionState state = SessionState::Starting;
    std::string error; // set when Failed (the engine's message)
    int64_t runId = 0; // 0 when not recording
    int64_t step = 0;
    int64_t totalSteps = 0;
    std::optional<StepMetrics> lastStep;
    std::optional<EvalMetrics> lastEval;
    std::optional<MaskUpdateEvent> lastUpdate;
    std::vector<LayerUpdateStats> layers;
    std::optional<DenseReference> denseReference; // the dense twin's step, once measured (or skipped)
    std::optional<TrainingSummary> summary;
};

class Session {
public:
    // dbPath empty: no recording. Nothing happens until start().
    Session(RunConfig config, std::string dbPath);
    ~Session(); // stops the run and joins the worker
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start();
    void pause();
    void resume();
    void stepOnce(); // while paused: one optimizer step, then paused again
    void stop();
    void checkpoint(); // writes the run's checkpoint after the current step
    // Blocks until the run has ended (finished, stopped or failed).
    void wait();

    SessionSnapshot snapshot() const;

private:
    class Observer;
    void work();
    void setState(SessionState state, const std::string& error = "");

    RunConfig config_;
    std::string dbPath_;
    std::unique_ptr<Observer> observer_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    SessionSnapshot snapshot_;
    bool pauseRequested_ = false;
    bool stopRequested_ = false;
    int64_t stepsToRun_ = 0; // single steps granted while paused
    bool checkpointRequested_ = false;
    std::thread worker_;
};

} // namespace srigl::sessions
