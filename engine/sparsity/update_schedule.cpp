// Mask-update schedule of RigL / SRigL.
#include "engine/sparsity/update_schedule.hpp"

#include <cmath>

namespace srigl {

UpdateSchedule::UpdateSchedule(int64_t deltaT, double alpha, double tEndFraction, int64_t totalSteps)
    : deltaT_(deltaT), alpha_(alpha),
      tEnd_(static_cast<int64_t>(std::floor(tEndFraction * static_cast<double>(totalSteps)))) {}

bool UpdateSchedule::isUpdateStep(int64_t step) const {
    return step > 0 && step % deltaT_ == 0 && step < tEnd_;
}

double UpdateSchedule::dropFraction(int64_t step) const {
    if (tEnd_ <= 0) return 0.0;
    return alpha_ / 2.0 * (1.0 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(tEnd_)));
}

bool UpdateSchedule::accumulatesGradient(int64_t step, int64_t window) const {
    // The next update at or after this step; accumulate during the `window` steps ending there.
    const int64_t next = ((step + deltaT_ - 1) / deltaT_) * deltaT_;
    return isUpdateStep(next) && next - step < window;
}

int64_t UpdateSchedule::updateCount() const {
    return tEnd_ <= 1 ? 0 : (tEnd_ - 1) / deltaT_;
}

} // namespace srigl
