// A sweep from its grid to its last point, as `srigl sweep` and the Studio's sweep panel both run
// it: every point validated before anything is stored, the sweep created (or an interrupted one
// reopened), each point's run linked to the sweep as soon as it exists, a point that was running
// when the sweep stopped continued in its own run, and the sweep's final status. How one point is
// trained (and what is printed or shown about it) is the caller's: a TrainPoint function.
#pragma once

#include "engine/config/run_config.hpp"
#include "sessions/session/sweep_plan.hpp"
#include "sessions/store/sweep_store.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace srigl::sessions {

struct RunRequest; // sessions/session/recorded_run.hpp

struct SweepRequest {
    std::string dbPath;
    std::string name;
    RunConfig base;
    std::vector<GridAxis> axes;
    int64_t resume = 0; // > 0: continue this sweep as it was defined (base and axes must be empty)
};

// How a point's training ended.
struct PointOutcome {
    int64_t runId = 0;
    PointStatus status = PointStatus::Failed;
    bool setupFailed = false; // nothing trained (data missing, database locked): the sweep stops
    double testAccuracy = -1.0;
};

class SweepRunner {
public:
    // Validates and creates the sweep, or reopens `request.resume` exclusively. Throws ConfigError
    // (a bad grid: nothing is stored), StoreError (no such sweep, another process runs it).
    explicit SweepRunner(const SweepRequest& request);
    ~SweepRunner();

    int64_t sweepId() const { return sweepId_; }
    const std::vector<SweepPointRow>& rows() const { return rows_; }
    int64_t alreadyDone() const; // finished or failed points when the runner was made
    RunStore& store() { return *store_; }
    SweepStore& sweeps() { return *sweeps_; }

    // Trains one point from `request` (dbPath, config, and for a continued point runId and
    // checkpoint are set; onRecorded links the run). Must not throw.
    using TrainPoint = std::function<PointOutcome(const RunRequest& request)>;
    struct Hooks {
        std::function<void(const SweepPointRow& row, bool resumed)> starting;
        std::function<void(const SweepPointRow& row, const PointOutcome& outcome)> finished;
    };
    // Runs every point not yet finished or failed, in order, and finishes the sweep: Finished
    // (every point ran, some may have failed), Stopped (a point was stopped: the rest wait for a
    // resume) or Failed (a point could not even be set up). Throws StoreError when the store fails.
    RunStatus run(const TrainPoint& train, const Hooks& hooks = {});

private:
    std::unique_ptr<RunStore> store_;
    std::unique_ptr<SweepStore> sweeps_;
    int64_t sweepId_ = 0;
    std::vector<SweepPointRow> rows_;
    int64_t alreadyDone_ = 0;
    bool finished_ = false;
};

} // namespace srigl::sessions
