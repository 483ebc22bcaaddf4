// The sweep's lifecycle around its points.
#include "sessions/session/sweep_runner.hpp"

#include "engine/errors.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "sessions/session/recorded_run.hpp"

#include <filesystem>

namespace srigl::sessions {
namespace {

bool settled(PointStatus s) { return s == PointStatus::Finished || s == PointStatus::Failed; }

} // namespace

SweepRunner::SweepRunner(const SweepRequest& request) {
    if (request.resume > 0) {
        if (!request.axes.empty())
            throw ConfigError("", "a resumed sweep continues as it was defined; it takes no new grid or config");
        if (!std::filesystem::exists(request.dbPath)) throw StoreError(request.dbPath + ": no such database");
        store_ = std::make_unique<RunStore>(request.dbPath);
        sweeps_ = std::make_unique<SweepStore>(*store_);
        store_->markInterrupted();
        sweeps_->markInterrupted();
        sweepId_ = request.resume;
        const auto info = sweeps_->sweep(sweepId_);
        if (info.status == RunStatus::Running)
            throw StoreError("sweep " + std::to_string(sweepId_) + " is still being run by process " +
                             std::to_string(info.pid) + " on " + info.host);
        rows_ = sweeps_->points(sweepId_);
        sweeps_->reopenSweep(sweepId_);
    } else {
        // Every point validated before the database is even opened: a bad grid stores nothing.
        const auto points = expandGrid(request.base, request.axes);
        for (const auto& p : points)
            rows_.push_back({p.index, p.label(), configToJson(p.config, -1), 0, PointStatus::Pending});
        store_ = std::make_unique<RunStore>(request.dbPath);
        sweeps_ = std::make_unique<SweepStore>(*store_);
        sweepId_ = sweeps_->createSweep(request.name, configToJson(request.base, -1), gridToJson(request.axes), rows_);
    }
    for (const auto& r : rows_) alreadyDone_ += settled(r.status);
}

SweepRunner::~SweepRunner() {
    if (finished_ || !sweeps_) return;
    // Never run (or run() threw): the sweep must not stay "running" while this process lives.
    try {
        sweeps_->finishSweep(sweepId_, RunStatus::Stopped);
    } catch (const std::exception&) {
        // markInterrupted settles it once this process is gone.
    }
}

int64_t SweepRunner::alreadyDone() const { return alreadyDone_; }

RunStatus SweepRunner::run(const TrainPoint& train, const Hooks& hooks) {
    RunStatus result = RunStatus::Finished;
    for (auto& row : rows_) {
        if (settled(row.status)) continue;
        sweeps_->requireClaim(sweepId_); // released and resumed elsewhere: stop before the next point
        RunRequest request;
        request.dbPath = store_->path();
        request.config = configFromJson(row.config);
        bool resumed = false;
        if (row.runId > 0) {
            // A point that was running when the sweep stopped: continue its run, never start a second one.
            const auto run = store_->run(row.runId);
            if (run.status == RunStatus::Finished || run.status == RunStatus::Failed) {
                row.status = run.status == RunStatus::Finished ? PointStatus::Finished : PointStatus::Failed;
                sweeps_->finishPoint(sweepId_, row.point, row.status);
                continue;
            }
            request.runId = row.runId;
            // Continued as `srigl train --resume` continues a run: from the checkpoint it recorded (or
            // wrote just before it was killed), with the config that checkpoint was trained with,
            // which names the run's own checkpoint file, so the run goes on checkpointing there.
            std::string checkpoint;
            try {
                checkpoint = recordedCheckpoint(*store_, row.runId);
            } catch (const CheckpointError&) {
                // None written yet: the run starts over, in the same record.
            }
            if (!checkpoint.empty() && std::filesystem::exists(checkpoint)) {
                request.checkpoint = checkpoint;
                request.config = readCheckpointConfig(checkpoint);
            } else {
                request.config = configFromJson(run.config);
            }
            resumed = true;
        }
        const int64_t point = row.point;
        request.onRecorded = [this, point](int64_t runId) { sweeps_->startPoint(sweepId_, point, runId); };
        if (hooks.starting) hooks.starting(row, resumed);
        const PointOutcome outcome = train(request);
        row.runId = outcome.runId;
        row.status = outcome.status;
        if (outcome.setupFailed) {
            // Set-up failed (data missing, database locked): the next points would fail alike.
            row.status = PointStatus::Failed;
            if (outcome.runId > 0) sweeps_->finishPoint(sweepId_, point, PointStatus::Failed);
            if (hooks.finished) hooks.finished(row, outcome);
            result = RunStatus::Failed;
            break;
        }
        if (outcome.runId > 0) sweeps_->finishPoint(sweepId_, point, row.status);
        if (hooks.finished) hooks.finished(row, outcome);
        if (row.status == PointStatus::Stopped) {
            result = RunStatus::Stopped;
            break;
        }
    }
    finished_ = true;
    sweeps_->finishSweep(sweepId_, result);
    return result;
}

} // namespace srigl::sessions
