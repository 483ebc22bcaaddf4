// A BackgroundJob that runs one of the sessions library's jobs (bench, import, sweep, init-variance
// analysis) on its settings and keeps the result of the last run that finished. A panel subclasses
// it with its job function, so that the panel's header can still forward-declare its runner.
#pragma once

#include "widgets/jobs/background_job.hpp"

#include <atomic>
#include <functional>
#include <optional>
#include <utility>

namespace srigl::studio {

template <class Settings, class Result>
class JobRunner : public BackgroundJob {
public:
    // The sessions job: settings, a progress callback and the cancel flag it polls.
    using Run = Result (*)(const Settings&, const std::function<void(const sessions::JobProgress&)>&,
                           const std::atomic<bool>*);

    JobRunner(Run run, QObject* parent, int niceness = 0) : BackgroundJob(parent, niceness), run_(run) {}

    // False when a job is still running.
    bool start(const Settings& settings) {
        if (isRunning()) return false;
        result_.reset();
        return launch([this, settings](const Report& report, const std::atomic<bool>* cancel) {
            auto result = run_(settings, report, cancel);
            // Kept on the UI thread, just before finished(true, ...).
            return std::function<void()>([this, result = std::move(result)]() mutable { result_ = std::move(result); });
        });
    }

    // The result of the last job that finished: none while one runs, after a failure or a cancel.
    const std::optional<Result>& lastResult() const { return result_; }

private:
    Run run_;
    std::optional<Result> result_;
};

} // namespace srigl::studio
