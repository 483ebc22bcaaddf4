// Runs a sessions::runInitVarianceJob in the background for the init-variance panel (see
// JobRunner); the job checks the cancel flag between sparsities. The result: one point per sparsity.
#pragma once

#include "sessions/session/init_variance_job.hpp"
#include "sessions/session/session.hpp"
#include "widgets/jobs/job_runner.hpp"

#include <vector>

namespace srigl::studio {

class InitVarianceRunner : public JobRunner<sessions::InitVarianceJobSettings, std::vector<sessions::InitVariancePoint>> {
public:
    explicit InitVarianceRunner(QObject* parent = nullptr)
        : JobRunner(&sessions::runInitVarianceJob, parent, sessions::kInteractiveTrainerNiceness) {}
};

} // namespace srigl::studio
