// Learning-rate schedules.
#include "engine/training/lr_schedule.hpp"

#include "engine/errors.hpp"

#include <cmath>

namespace srigl {

LrSchedule::LrSchedule(std::string kind, double baseLr, int64_t stepsPerEpoch, int64_t totalSteps,
                       std::vector<int64_t> milestoneEpochs, double gamma, double warmupEpochs)
    : kind_(std::move(kind)), baseLr_(baseLr), stepsPerEpoch_(stepsPerEpoch), totalSteps_(totalSteps),
      milestones_(std::move(milestoneEpochs)), gamma_(gamma),
      warmupSteps_(static_cast<int64_t>(std::round(warmupEpochs * static_cast<double>(stepsPerEpoch)))) {
    if (kind_ != "constant" && kind_ != "step" && kind_ != "cosine")
        throw ConfigError("lr_schedule", "unknown schedule '" + kind_ + "'");
}

double LrSchedule::at(int64_t step) const {
    // Linear warm-up applies to every schedule that asks for it.
    if (warmupSteps_ > 0 && step <= warmupSteps_)
        return baseLr_ * static_cast<double>(step) / static_cast<double>(warmupSteps_);
    if (kind_ == "step") {
        // Step `step` belongs to epoch (step - 1) / stepsPerEpoch (0-based); a milestone m means
        // "multiply from epoch m on".
        const int64_t epoch = (step - 1) / std::max<int64_t>(1, stepsPerEpoch_);
        double lr = baseLr_;
        for (auto m : milestones_)
            if (epoch >= m) lr *= gamma_;
        return lr;
    }
    if (kind_ == "cosine") {
        const double span = static_cast<double>(std::max<int64_t>(1, totalSteps_ - warmupSteps_));
        const double t = static_cast<double>(step - warmupSteps_) / span;
        return 0.5 * baseLr_ * (1.0 + std::cos(M_PI * std::min(1.0, t)));
    }
    return baseLr_;
}

} // namespace srigl
