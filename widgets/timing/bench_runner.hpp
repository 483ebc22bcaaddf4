// Runs a sessions::runBenchJob in the background for the timing panel (see BackgroundJob);
// benchLayer checks the cancel flag between repetitions.
#pragma once

#include "sessions/session/bench_job.hpp"
#include "widgets/jobs/background_job.hpp"

#include <vector>

namespace srigl::studio {

class BenchRunner : public BackgroundJob {
    Q_OBJECT
public:
    explicit BenchRunner(QObject* parent = nullptr) : BackgroundJob(parent) {}

    // False when a bench is still running. A cancelled bench stores nothing.
    bool start(const sessions::BenchJobSettings& settings);
    // The rows of the last bench that finished (empty while one runs and after a failed one).
    const std::vector<sessions::TimingRecord>& lastRows() const { return rows_; }

private:
    std::vector<sessions::TimingRecord> rows_;
};

} // namespace srigl::studio
