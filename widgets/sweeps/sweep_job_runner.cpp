// The sweep panel's background job.
#include "widgets/sweeps/sweep_job_runner.hpp"

namespace srigl::studio {

bool SweepJobRunner::start(const sessions::SweepJobSettings& settings) {
    if (isRunning()) return false;
    result_.reset();
    return launch([this, settings](const Report& report, const std::atomic<bool>* cancel) {
        auto result = sessions::runSweepJob(settings, report, cancel);
        return std::function<void()>([this, result = std::move(result)]() mutable { result_ = std::move(result); });
    });
}

} // namespace srigl::studio
