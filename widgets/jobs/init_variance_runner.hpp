// Runs a sessions::runInitVarianceJob in the background for the init-variance panel (see
// BackgroundJob); the job checks the cancel flag between sparsities.
#pragma once

#include "sessions/session/init_variance_job.hpp"
#include "widgets/jobs/background_job.hpp"

#include <vector>

namespace srigl::studio {

class InitVarianceRunner : public BackgroundJob {
    Q_OBJECT
public:
    explicit InitVarianceRunner(QObject* parent = nullptr) : BackgroundJob(parent) {}

    // False when an analysis is still running.
    bool start(const sessions::InitVarianceJobSettings& settings);
    // The points of the last analysis that finished (empty while one runs and after a failed or
    // cancelled one).
    const std::vector<sessions::InitVariancePoint>& lastPoints() const { return points_; }

private:
    std::vector<sessions::InitVariancePoint> points_;
};

} // namespace srigl::studio
