// Runs a sessions::runBenchJob in the background for the timing panel (see JobRunner); benchLayer
// checks the cancel flag between repetitions, and a cancelled bench stores nothing. The result: the
// rows as stored.
#pragma once

#include "sessions/session/bench_job.hpp"
#include "widgets/jobs/job_runner.hpp"

#include <vector>

namespace srigl::studio {

class BenchRunner : public JobRunner<sessions::BenchJobSettings, std::vector<sessions::TimingRecord>> {
public:
    explicit BenchRunner(QObject* parent = nullptr) : JobRunner(&sessions::runBenchJob, parent) {}
};

} // namespace srigl::studio
