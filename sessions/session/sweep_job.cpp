// The Studio's sweep: SweepRunner's points trained by RecordedRun, with progress and cancel.
#include "sessions/session/sweep_job.hpp"

#include "sessions/session/recorded_run.hpp"
#include "sessions/session/sweep_runner.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace srigl::sessions {
namespace {

// What the recorder's thread last said about recording ("" while it works), read by the gate on
// the training thread.
class RecordingNote {
public:
    void set(const RecordingHealth& h) {
        std::lock_guard<std::mutex> lock(mutex_);
        text_ = h.waiting || h.droppedRecords > 0 ? describeRecordingHealth(h) : std::string();
    }
    std::string text() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return text_;
    }

private:
    mutable std::mutex mutex_;
    std::string text_;
};

// Stops the point at the cancel flag and reports its progress at most once per permille, and
// whenever recording starts or stops waiting for the database (the point's text says so).
class SweepGate : public StepGate {
public:
    SweepGate(const std::function<void(const JobProgress&)>& progress, const std::atomic<bool>* cancel, JobProgress base,
              int64_t totalSteps, const RecordingNote& note)
        : progress_(progress), cancel_(cancel), base_(std::move(base)), totalSteps_(std::max<int64_t>(1, totalSteps)),
          note_(note) {}
    bool beforeStep() override { return !(cancel_ && cancel_->load()); }
    bool afterStep(int64_t step) override {
        const int64_t units = std::min(kSweepProgressPerPoint - 1, step * kSweepProgressPerPoint / totalSteps_);
        const std::string note = note_.text();
        if ((units != reported_ || note != reportedNote_) && progress_) {
            reported_ = units;
            reportedNote_ = note;
            JobProgress p = base_;
            p.done += units;
            if (!note.empty()) p.current += " (" + note + ")";
            progress_(p);
        }
        return false;
    }

private:
    const std::function<void(const JobProgress&)>& progress_;
    const std::atomic<bool>* cancel_;
    JobProgress base_;
    int64_t totalSteps_;
    const RecordingNote& note_;
    int64_t reported_ = -1;
    std::string reportedNote_;
};

PointStatus pointStatus(const RunEnd& end) {
    if (!end.failure.empty()) return PointStatus::Failed;
    switch (end.summary.status) {
    case TrainingStatus::Finished: return PointStatus::Finished;
    case TrainingStatus::Stopped: return PointStatus::Stopped;
    case TrainingStatus::Diverged: return PointStatus::Failed;
    }
    return PointStatus::Failed;
}

std::vector<std::string> keysOf(const std::vector<GridAxis>& axes) {
    std::vector<std::string> keys;
    for (const auto& a : axes) keys.push_back(a.key);
    return keys;
}

SweepJobResult resultsOf(RunStore& store, int64_t sweepId, const std::vector<std::string>& keys) {
    SweepJobResult r;
    r.sweepId = sweepId;
    SweepStore sweeps(store);
    r.status = sweeps.sweep(sweepId).status;
    r.points = sweeps.points(sweepId);
    std::map<int64_t, double> accuracy;
    for (const auto& p : r.points)
        if (p.runId > 0) accuracy[p.runId] = store.run(p.runId).testAccuracy;
    r.results = summarizeSweep(keys, r.points, accuracy);
    return r;
}

} // namespace

std::vector<GridAxis> methodSparsitySeedGrid(const std::vector<std::string>& methods,
                                             const std::vector<std::string>& sparsities, int seeds) {
    std::vector<GridAxis> axes;
    if (!methods.empty()) axes.push_back({"method", methods});
    if (!sparsities.empty()) axes.push_back({"sparsity", sparsities});
    if (seeds > 1) {
        GridAxis seed{"seed", {}};
        for (int s = 1; s <= seeds; ++s) seed.values.push_back(std::to_string(s));
        axes.push_back(std::move(seed));
    }
    return axes;
}

SweepJobResult runSweepJob(const SweepJobSettings& settings, const std::function<void(const JobProgress&)>& progress,
                           const std::atomic<bool>* cancel) {
    SweepRequest request;
    request.dbPath = settings.dbPath;
    request.name = settings.name;
    request.base = settings.base;
    request.axes = settings.axes;
    request.resume = settings.resume;
    SweepRunner runner(request);
    const int64_t points = static_cast<int64_t>(runner.rows().size());
    JobProgress at{runner.alreadyDone() * kSweepProgressPerPoint, points * kSweepProgressPerPoint, ""};
    if (progress) progress(at);

    std::string setupError;
    SweepRunner::Hooks hooks;
    hooks.starting = [&](const SweepPointRow& row, bool resumed) {
        at.current = "point " + std::to_string(row.point + 1) + "/" + std::to_string(points) + ": " + row.assignment +
                     (resumed ? " (continued)" : "");
        if (progress) progress(at);
    };
    hooks.finished = [&](const SweepPointRow&, const PointOutcome& outcome) {
        if (outcome.status == PointStatus::Stopped || outcome.setupFailed) return;
        at.done += kSweepProgressPerPoint;
        if (progress) progress(at);
    };
    auto train = [&](const RunRequest& point) {
        PointOutcome out;
        RecordingNote note; // before the run: its recorder's thread writes here until the run is gone
        RunRequest request = point;
        request.onRecordingHealth = [&note](const RecordingHealth& h) { note.set(h); };
        std::unique_ptr<RecordedRun> run;
        try {
            run = std::make_unique<RecordedRun>(request, nullptr);
        } catch (const std::exception& e) {
            out.setupFailed = true;
            setupError = errorMessage(e);
            return out;
        }
        out.runId = run->runId();
        SweepGate gate(progress, cancel, at, run->trainer().totalSteps(), note);
        const RunEnd end = run->train(&gate);
        out.status = pointStatus(end);
        out.testAccuracy = end.failure.empty() ? end.summary.testAccuracy : -1.0;
        return out;
    };
    const RunStatus status = runner.run(train, hooks);
    if (status == RunStatus::Failed && !setupError.empty())
        throw std::runtime_error("a point of sweep " + std::to_string(runner.sweepId()) + " could not start: " + setupError);
    return resultsOf(runner.store(), runner.sweepId(),
                     settings.resume > 0 ? keysOf(gridFromJson(runner.sweeps().sweep(runner.sweepId()).grid))
                                         : keysOf(settings.axes));
}

SweepJobResult readSweepResults(RunStore& store, int64_t sweepId) {
    SweepStore sweeps(store);
    return resultsOf(store, sweepId, keysOf(gridFromJson(sweeps.sweep(sweepId).grid)));
}

} // namespace srigl::sessions
