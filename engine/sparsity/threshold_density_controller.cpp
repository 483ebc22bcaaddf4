// The alpha controller of tt_target_density.
#include "engine/sparsity/threshold_density_controller.hpp"

#include <algorithm>

namespace srigl {
namespace {

// Gains per step, in log alpha per unit of log(density / target); tuned on MNIST LeNet-300-100
// (docs/results.md) and checked on a small problem by test_trainable_threshold.
constexpr double kProportional = 2.0;
constexpr double kIntegral = 1e-2;
// The error is clamped to a factor of e either way: far from the target (at the start, density 1;
// after a collapse) alpha changes by at most e^2 at once and e^0.01 per step.
constexpr double kErrorClamp = 1.0;
// How far the integral may wander from the starting alpha (a factor of e^20 either way), so a
// target the model cannot reach does not leave an integral that takes forever to unwind.
constexpr double kIntegralRange = 20.0;

} // namespace

double ThresholdDensityController::update(double density) {
    if (!enabled()) return alpha_;
    // An empty mask (the 1% guard resets it right after) must not give -inf.
    const double error = std::clamp(std::log(std::max(density, 1e-6) / target_), -kErrorClamp, kErrorClamp);
    integral_ = std::clamp(integral_ + kIntegral * error, start_ - kIntegralRange, start_ + kIntegralRange);
    alpha_ = std::exp(integral_ + kProportional * error);
    return alpha_;
}

} // namespace srigl
