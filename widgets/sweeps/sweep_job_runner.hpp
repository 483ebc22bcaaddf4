// Runs a sessions::runSweepJob in the background for the sweep panel (see JobRunner): the grid
// trains point after point off the UI thread; cancel stops the current point after its step, and
// the stopped sweep is still a result (status Stopped, the points that finished).
#pragma once

#include "sessions/session/session.hpp"
#include "sessions/session/sweep_job.hpp"
#include "widgets/jobs/job_runner.hpp"

namespace srigl::studio {

class SweepJobRunner : public JobRunner<sessions::SweepJobSettings, sessions::SweepJobResult> {
public:
    explicit SweepJobRunner(QObject* parent = nullptr)
        : JobRunner(&sessions::runSweepJob, parent, sessions::kInteractiveTrainerNiceness) {}
};

} // namespace srigl::studio
