// When masks change and by how much: every deltaT steps until T_end, drop fraction with cosine decay.
#pragma once

#include <cstdint>

namespace srigl {

class UpdateSchedule {
public:
    UpdateSchedule(int64_t deltaT, double alpha, double tEndFraction, int64_t totalSteps);

    // Steps are counted from 1 (the first optimizer step is step 1).
    bool isUpdateStep(int64_t step) const;
    // alpha / 2 * (1 + cos(pi * step / T_end)).
    double dropFraction(int64_t step) const;
    // True when the dense gradient of this step must be accumulated for the next update.
    bool accumulatesGradient(int64_t step, int64_t window) const;
    int64_t tEnd() const { return tEnd_; }
    int64_t deltaT() const { return deltaT_; }
    int64_t updateCount() const;

private:
    int64_t deltaT_;
    double alpha_;
    int64_t tEnd_;
};

} // namespace srigl
