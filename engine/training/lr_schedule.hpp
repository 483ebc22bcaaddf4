// Learning rate as a function of the step: constant, step (milestones in epochs) or cosine with
// linear warm-up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

class LrSchedule {
public:
    LrSchedule(std::string kind, double baseLr, int64_t stepsPerEpoch, int64_t totalSteps,
               std::vector<int64_t> milestoneEpochs = {}, double gamma = 0.2, double warmupEpochs = 0.0);
    // Learning rate of optimizer step `step` (1-based).
    double at(int64_t step) const;

private:
    std::string kind_;
    double baseLr_;
    int64_t stepsPerEpoch_;
    int64_t totalSteps_;
    std::vector<int64_t> milestones_;
    double gamma_;
    int64_t warmupSteps_;
};

} // namespace srigl
