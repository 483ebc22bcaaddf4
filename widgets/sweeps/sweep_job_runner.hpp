// Runs a sessions::runSweepJob in the background for the sweep panel (see BackgroundJob): the grid
// trains point after point off the UI thread; cancel stops the current point after its step.
#pragma once

#include "sessions/session/sweep_job.hpp"
#include "widgets/jobs/background_job.hpp"

#include <optional>

namespace srigl::studio {

class SweepJobRunner : public BackgroundJob {
    Q_OBJECT
public:
    explicit SweepJobRunner(QObject* parent = nullptr) : BackgroundJob(parent) {}

    // False when a sweep is still running.
    bool start(const sessions::SweepJobSettings& settings);
    // The last sweep that ended (finished or stopped), none while one runs or after a failure.
    const std::optional<sessions::SweepJobResult>& lastResult() const { return result_; }

private:
    std::optional<sessions::SweepJobResult> result_;
};

} // namespace srigl::studio
