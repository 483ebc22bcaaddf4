// The session's worker thread and its command handling.
#include "sessions/session/session.hpp"

#include "sessions/session/recorded_run.hpp"

#include "engine/errors.hpp"
#include "engine/training/trainer.hpp"
#include "sessions/store/recorder.hpp"
#include "sessions/session/run_description.hpp"
#include "sessions/store/run_store.hpp"


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

// Copies each event into the snapshot (under the session's lock) and passes it on to the recorder.
class Session::Observer : public TrainingObserver {
public:
    Observer(Session& s) : s_(s) {}
    TrainingObserver* next = nullptr;

    void onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) override {
        {
            std::lock_guard<std::mutex> lock(s_.mutex_);
            s_.snapshot_.layers = layers;
            s_.snapshot_.totalSteps = totalSteps;
        }
        if (next) next->onStart(layers, totalSteps);
    }
    void onStep(const StepMetrics& m) override {
        {
            std::lock_guard<std::mutex> lock(s_.mutex_);
            s_.snapshot_.lastStep = m;
        }
        if (next) next->onStep(m);
    }
    void onDenseReference(const DenseReference& r) override {
        {
            std::lock_guard<std::mutex> lock(s_.mutex_);
            s_.snapshot_.denseReference = r;
        }
        if (next) next->onDenseReference(r);
    }
    void onMaskUpdate(const MaskUpdateEvent& e) override {
        {
            std::lock_guard<std::mutex> lock(s_.mutex_);
            s_.snapshot_.lastUpdate = e;
            for (const auto& l : e.layers)
                for (auto& mine : s_.snapshot_.layers)
                    if (mine.name == l.name) mine = l;
        }
        if (next) next->onMaskUpdate(e);
    }
    void onEvaluation(const EvalMetrics& m) override {
        {
            std::lock_guard<std::mutex> lock(s_.mutex_);
            s_.snapshot_.lastEval = m;
        }
        if (next) next->onEvaluation(m);
    }
    void onBeforeCheckpoint(int64_t step) override {
        if (next) next->onBeforeCheckpoint(step);
    }
    void onCheckpoint(int64_t step, const std::string& path) override {
        if (next) next->onCheckpoint(step, path);
    }
    void onFinished(const TrainingSummary& summary) override {
        if (next) next->onFinished(summary);
    }

private:
    Session& s_;
};

Session::Session(RunConfig config, std::string dbPath)
    : config_(std::move(config)), dbPath_(std::move(dbPath)), observer_(std::make_unique<Observer>(*this)) {}

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

void Session::setState(SessionState state, const std::string& error) {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_.state = state;
    if (!error.empty()) snapshot_.error = error;
    changed_.notify_all();
}

void Session::work() {
    std::unique_ptr<Trainer> trainer;
    std::unique_ptr<RunStore> store;
    std::unique_ptr<Recorder> recorder;
    int64_t runId = 0;
    try {
        trainer = std::make_unique<Trainer>(config_, observer_.get());
        if (!dbPath_.empty()) {
            store = std::make_unique<RunStore>(dbPath_);
            runId = recordNewRun(*store, *trainer, config_);
            Trainer* t = trainer.get();
            recorder = std::make_unique<Recorder>(dbPath_, runId, [t] { return t->maskSnapshot(); }, nullptr);
            recorder->setWeightSource([t] { return t->weightSnapshots(); });
            observer_->next = recorder.get();
        }
    } catch (const std::exception& e) {
        // Bad config, missing data, locked database: the message is the engine's or the store's.
        setState(SessionState::Failed, e.what());
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        snapshot_.runId = runId;
        snapshot_.totalSteps = trainer->totalSteps();
        snapshot_.layers = trainer->layerStats();
        snapshot_.state = SessionState::Running;
        changed_.notify_all();
    }
    observer_->onStart(trainer->layerStats(), trainer->totalSteps());

    TrainingSummary summary;
    std::string failure;
    try {
        for (;;) {
            {
                std::unique_lock<std::mutex> lock(mutex_);
                // Paused: wait for resume, a single step or stop.
                while (pauseRequested_ && stepsToRun_ == 0 && !stopRequested_) {
                    snapshot_.state = SessionState::Paused;
                    changed_.notify_all();
                    changed_.wait(lock);
                }
                if (stopRequested_) break;
                if (stepsToRun_ > 0) --stepsToRun_;
                snapshot_.state = pauseRequested_ ? SessionState::Paused : SessionState::Running;
            }
            if (!trainer->trainStep()) break;
            bool doCheckpoint = false;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                snapshot_.step = trainer->step();
                doCheckpoint = checkpointRequested_;
                checkpointRequested_ = false;
                changed_.notify_all();
            }
            if (doCheckpoint) trainer->writeCheckpoint();
        }
        summary = trainer->finish();
    } catch (const std::exception& e) {
        failure = e.what();
    }
    std::string recordError;
    if (recorder) recordError = recorder->close();
    if (store) {
        try {
            const RunStatus status = !failure.empty() ? RunStatus::Failed
                                     : summary.status == TrainingStatus::Finished ? RunStatus::Finished
                                     : summary.status == TrainingStatus::Stopped  ? RunStatus::Stopped
                                                                                   : RunStatus::Failed;
            store->finishRun(runId, status, trainer->step(), failure.empty() ? summary.testAccuracy : -1.0, failure);
        } catch (const std::exception& e) {
            if (recordError.empty()) recordError = e.what();
        }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_.step = trainer->step();
    if (!failure.empty()) {
        snapshot_.state = SessionState::Failed;
        snapshot_.error = failure;
    } else {
        snapshot_.summary = summary;
        snapshot_.state = summary.status == TrainingStatus::Finished ? SessionState::Finished
                          : summary.status == TrainingStatus::Stopped ? SessionState::Stopped
                                                                      : SessionState::Failed;
        if (summary.status == TrainingStatus::Diverged) snapshot_.error = summary.message;
        if (!recordError.empty() && snapshot_.error.empty()) snapshot_.error = "recording failed: " + recordError;
    }
    changed_.notify_all();
}

} // namespace srigl::sessions
