// The timing panel's bench job.
#include "widgets/timing/bench_runner.hpp"

namespace srigl::studio {

bool BenchRunner::start(const sessions::BenchJobSettings& settings) {
    if (isRunning()) return false;
    rows_.clear();
    return launch([this, settings](const Report& report, const std::atomic<bool>* cancel) {
        auto rows = sessions::runBenchJob(settings, report, cancel);
        return std::function<void()>([this, rows = std::move(rows)]() mutable { rows_ = std::move(rows); });
    });
}

} // namespace srigl::studio
