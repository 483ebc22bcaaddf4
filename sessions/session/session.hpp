// A live training session: an engine Trainer on a worker thread, recorded into the store, steered
// by commands (pause, resume, single step, stop, checkpoint) and publishing its latest snapshot
// for readers that must never wait on training (the Studio's UI thread).
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/training/training_observer.hpp"
#include "sessions/session/live_layers.hpp"

#include <condition_variable>
#include <functional>
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
    // Set while recording waits for the database (locked, full disk) or after it shed records;
    // training goes on. Cleared when the held records are stored.
    std::string recordingWarning;
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

struct RunRequest; // sessions/session/recorded_run.hpp

// The nice increment of the Studio's training threads (live sessions, sweeps, analyses): on 2 cores
// the trainer would otherwise take the time its UI thread and software OpenGL need for a frame
// (docs/studio.md, "Live frame budget"). Timing jobs keep the normal priority.
inline constexpr int kInteractiveTrainerNiceness = 10;

class Session {
public:
    // dbPath empty: no recording. Nothing happens until start().
    Session(RunConfig config, std::string dbPath);
    // Any run a RecordedRun can train. A request with a runId and no checkpoint continues that
    // recorded run from its latest checkpoint (resumeRequest, done on the session's thread). The
    // session always publishes live layers.
    explicit Session(const RunRequest& request);
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
    // The latest masks and weights of every layer (the session's latest-value slot): published at
    // the start and at every mask update; null before the run has started.
    std::shared_ptr<const LiveLayers> liveLayers() const;
    // Called on the training thread right after each publication (set before start()); must not
    // block: the Studio posts an event to its UI thread.
    void setLiveListener(std::function<void(const std::shared_ptr<const LiveLayers>&)> listener);
    // Set before start(): the training thread lowers its priority by this nice increment, and the
    // threads it starts inherit it. The Studio uses kInteractiveTrainerNiceness.
    void setTrainerNiceness(int niceness) { trainerNiceness_ = niceness; }

private:
    class Observer;
    class Gate;
    void work();
    void setState(SessionState state, const std::string& error = "");

    std::unique_ptr<RunRequest> request_;
    std::unique_ptr<Observer> observer_;
    std::shared_ptr<const LiveLayers> live_;
    std::function<void(const std::shared_ptr<const LiveLayers>&)> liveListener_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    SessionSnapshot snapshot_;
    bool pauseRequested_ = false;
    bool stopRequested_ = false;
    int64_t stepsToRun_ = 0; // single steps granted while paused
    bool checkpointRequested_ = false;
    int trainerNiceness_ = 0;
    std::thread worker_;
};

} // namespace srigl::sessions
