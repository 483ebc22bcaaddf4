// The init-variance panel's analysis job.
#include "widgets/jobs/init_variance_runner.hpp"

namespace srigl::studio {

bool InitVarianceRunner::start(const sessions::InitVarianceJobSettings& settings) {
    if (isRunning()) return false;
    points_.clear();
    return launch([this, settings](const Report& report, const std::atomic<bool>* cancel) {
        auto points = sessions::runInitVarianceJob(settings, report, cancel);
        return std::function<void()>([this, points = std::move(points)]() mutable { points_ = std::move(points); });
    });
}

} // namespace srigl::studio
