// A sweep run from the Studio, behind plain types (no Torch: Qt code includes this): the grid of
// the sweep panel trained point after point through SweepRunner and RecordedRun on the caller's
// thread, with progress for the whole grid and the current point, and a cancel flag that stops
// the current point after its step. A stopped sweep keeps every finished point and continues with
// `srigl sweep --resume ID` or the panel's Resume.
#pragma once

#include "engine/config/run_config.hpp"
#include "sessions/session/job_progress.hpp"
#include "sessions/session/sweep_plan.hpp"
#include "sessions/store/sweep_results.hpp"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace srigl::sessions {

struct SweepJobSettings {
    std::string dbPath;
    std::string name;
    RunConfig base;
    std::vector<GridAxis> axes;
    int64_t resume = 0; // > 0: continue this sweep (base and axes unused)
};

// Progress units: JobProgress::total = points * kSweepProgressPerPoint; done counts finished
// points in whole units plus the current point's fraction of its steps; current names the point.
constexpr int64_t kSweepProgressPerPoint = 1000;

struct SweepJobResult {
    int64_t sweepId = 0;
    RunStatus status = RunStatus::Finished;
    std::vector<SweepPointRow> points; // as stored at the end
    SweepResults results;              // every finished point's test accuracy, grouped
};

// The grid's axes for methods x sparsities x seeds (empty lists leave that axis out), as the panel
// builds them; validated by the sweep itself.
std::vector<GridAxis> methodSparsitySeedGrid(const std::vector<std::string>& methods,
                                             const std::vector<std::string>& sparsities, int seeds);

// Throws ConfigError for a bad grid (nothing stored), StoreError for the store, and
// std::runtime_error when a point could not even be set up (data missing: the sweep is recorded
// as failed). A sweep stopped by *cancel returns normally with status Stopped and the results of
// the points that finished.
SweepJobResult runSweepJob(const SweepJobSettings& settings, const std::function<void(const JobProgress&)>& progress = {},
                           const std::atomic<bool>* cancel = nullptr);

// The results of a stored sweep (its points and their runs' accuracy), e.g. to show an older one.
SweepJobResult readSweepResults(RunStore& store, int64_t sweepId);

} // namespace srigl::sessions
