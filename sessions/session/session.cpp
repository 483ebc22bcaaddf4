// The session's worker thread and its command handling.
#include "sessions/session/session.hpp"

#include "sessions/session/recorded_run.hpp"

#include "engine/runtime/threading.hpp"
#include "engine/training/trainer.hpp"

namespace srigl::sessions {

std::string toString(SessionState state) {
    switch (state) {
    case SessionState::Starting: return "starting";
    case SessionState::Running: return "running";
    case SessionState::Paused: return "paused";
    case SessionState::Finished: return "finished";
    case SessionState::Stopped: return "stopped";
    case SessionState::Failed: return "failed";
    }
    return "failed";
}

// Copies each event into the snapshot (under the session's lock). It is the last observer of the
// chain RecordedRun builds (live slot, recorder, this).
class Session::Observer : public TrainingObserver {
public:
    Observer(Session& s) : s_(s) {}

    void onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) override {
        std::lock_guard<std::mutex> lock(s_.mutex_);
        s_.snapshot_.layers = layers;
        s_.snapshot_.totalSteps = totalSteps;
    }
    void onStep(const StepMetrics& m) override {
        std::lock_guard<std::mutex> lock(s_.mutex_);
        s_.snapshot_.lastStep = m;
    }
    void onDenseReference(const DenseReference& r) override {
        std::lock_guard<std::mutex> lock(s_.mutex_);
        s_.snapshot_.denseReference = r;
    }
    void onMaskUpdate(const MaskUpdateEvent& e) override {
        std::lock_guard<std::mutex> lock(s_.mutex_);
        s_.snapshot_.lastUpdate = e;
        s_.snapshot_.lastUpdate->gradients = nullptr; // only valid inside the callback
        for (const auto& l : e.layers)
            for (auto& mine : s_.snapshot_.layers)
                if (mine.name == l.name) mine = l;
    }
    void onEvaluation(const EvalMetrics& m) override {
        std::lock_guard<std::mutex> lock(s_.mutex_);
        s_.snapshot_.lastEval = m;
    }

private:
    Session& s_;
};

// The session's commands, applied between two steps of the run.
class Session::Gate : public StepGate {
public:
    Gate(Session& s) : s_(s) {}

    bool beforeStep() override {
        std::unique_lock<std::mutex> lock(s_.mutex_);
        // Paused: wait for resume, a single step or stop.
        while (s_.pauseRequested_ && s_.stepsToRun_ == 0 && !s_.stopRequested_) {
            s_.snapshot_.state = SessionState::Paused;
            s_.changed_.notify_all();
            s_.changed_.wait(lock);
        }
        if (s_.stopRequested_) return false;
        if (s_.stepsToRun_ > 0) --s_.stepsToRun_;
        s_.snapshot_.state = s_.pauseRequested_ ? SessionState::Paused : SessionState::Running;
        return true;
    }
    bool afterStep(int64_t step) override {
        std::lock_guard<std::mutex> lock(s_.mutex_);
        s_.snapshot_.step = step;
        const bool checkpoint = s_.checkpointRequested_;
        s_.checkpointRequested_ = false;
        s_.changed_.notify_all();
        return checkpoint;
    }

private:
    Session& s_;
};

namespace {

RunRequest plainRequest(RunConfig config, std::string dbPath) {
    RunRequest request;
    request.config = std::move(config);
    request.dbPath = std::move(dbPath);
    return request;
}

} // namespace

Session::Session(RunConfig config, std::string dbPath) : Session(plainRequest(std::move(config), std::move(dbPath))) {}

Session::Session(const RunRequest& request)
    : request_(std::make_unique<RunRequest>(request)), observer_(std::make_unique<Observer>(*this)) {
    request_->publishLive = true;
}

Session::~Session() {
    stop();
    if (worker_.joinable()) worker_.join();
}

void Session::start() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (worker_.joinable()) return;
    worker_ = std::thread([this] { work(); });
}

void Session::pause() {
    std::lock_guard<std::mutex> lock(mutex_);
    pauseRequested_ = true;
    changed_.notify_all();
}

void Session::resume() {
    std::lock_guard<std::mutex> lock(mutex_);
    pauseRequested_ = false;
    changed_.notify_all();
}

void Session::stepOnce() {
    std::lock_guard<std::mutex> lock(mutex_);
    pauseRequested_ = true;
    ++stepsToRun_;
    changed_.notify_all();
}

void Session::stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopRequested_ = true;
    changed_.notify_all();
}

void Session::checkpoint() {
    std::lock_guard<std::mutex> lock(mutex_);
    checkpointRequested_ = true;
    changed_.notify_all();
}

void Session::wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] {
        const auto s = snapshot_.state;
        return s == SessionState::Finished || s == SessionState::Stopped || s == SessionState::Failed;
    });
}

SessionSnapshot Session::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return snapshot_;
}

std::shared_ptr<const LiveLayers> Session::liveLayers() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return live_;
}

void Session::setLiveListener(std::function<void(const std::shared_ptr<const LiveLayers>&)> listener) {
    std::lock_guard<std::mutex> lock(mutex_);
    liveListener_ = std::move(listener);
}

void Session::setState(SessionState state, const std::string& error) {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_.state = state;
    if (!error.empty()) snapshot_.error = error;
    changed_.notify_all();
}

void Session::work() {
    // First, so that the OpenMP team and the recorder's writer, started from this thread, inherit it.
    if (trainerNiceness_ > 0) lowerCurrentThreadPriority(trainerNiceness_);
    std::unique_ptr<RecordedRun> run;
    try {
        if (request_->runId != 0 && request_->checkpoint.empty()) {
            // Continue a recorded run: its checkpoint and config are found here, off the caller's thread.
            *request_ = resumeRequest(request_->dbPath, request_->runId);
            request_->publishLive = true;
        }
        // The session outlives its run (work() owns it), so the recorder's thread may call back here.
        request_->onRecordingHealth = [this](const RecordingHealth& h) {
            std::lock_guard<std::mutex> lock(mutex_);
            snapshot_.recordingWarning = h.waiting || h.droppedRecords > 0 ? describeRecordingHealth(h) : std::string();
            changed_.notify_all();
        };
        run = std::make_unique<RecordedRun>(*request_, observer_.get());
    } catch (const std::exception& e) {
        // Bad config, missing data, locked database: the message is the engine's or the store's.
        setState(SessionState::Failed, errorMessage(e));
        return;
    }
    run->live()->setListener([this](const std::shared_ptr<const LiveLayers>& layers) {
        std::function<void(const std::shared_ptr<const LiveLayers>&)> listener;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            live_ = layers;
            listener = liveListener_;
        }
        if (listener) listener(layers);
    });
    {
        std::lock_guard<std::mutex> lock(mutex_);
        snapshot_.runId = run->runId();
        snapshot_.step = run->trainer().step();
        snapshot_.totalSteps = run->trainer().totalSteps();
        snapshot_.layers = run->trainer().layerStats();
        snapshot_.state = SessionState::Running;
        changed_.notify_all();
    }
    Gate gate(*this);
    const RunEnd end = run->train(&gate);
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_.step = end.steps;
    if (!end.failure.empty()) {
        snapshot_.state = SessionState::Failed;
        snapshot_.error = end.failure;
    } else {
        snapshot_.summary = end.summary;
        snapshot_.state = end.summary.status == TrainingStatus::Finished ? SessionState::Finished
                          : end.summary.status == TrainingStatus::Stopped ? SessionState::Stopped
                                                                          : SessionState::Failed;
        if (end.summary.status == TrainingStatus::Diverged) snapshot_.error = end.summary.message;
        const std::string recordError = !end.recordingError.empty() ? end.recordingError : end.storeError;
        if (!recordError.empty() && snapshot_.error.empty()) snapshot_.error = "recording incomplete: " + recordError;
    }
    changed_.notify_all();
}

} // namespace srigl::sessions
