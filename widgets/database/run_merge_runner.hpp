// Runs sessions::mergeRuns in the background for File > Merge runs from a database (see
// JobRunner): the shown database is written by the job's own connection, run by run, while the UI
// stays usable. A cancel stops after the run being copied (each run is merged whole or not at all)
// and keeps the runs merged before it.
#pragma once

#include "sessions/session/job_progress.hpp"
#include "sessions/store/run_merge.hpp"
#include "widgets/jobs/job_runner.hpp"

#include <atomic>
#include <functional>
#include <string>

namespace srigl::studio {

struct RunMergeRequest {
    std::string target, source;
};

// Progress in runs; sessions::JobCancelled when the flag stopped it, saying how many runs were
// merged before (they stay).
sessions::MergeResult runRunMerge(const RunMergeRequest& request,
                                  const std::function<void(const sessions::JobProgress&)>& report,
                                  const std::atomic<bool>* cancel);

class RunMergeRunner : public JobRunner<RunMergeRequest, sessions::MergeResult> {
public:
    explicit RunMergeRunner(QObject* parent = nullptr) : JobRunner(&runRunMerge, parent) {}
};

} // namespace srigl::studio
