// tt_target_density (our extension of the trainable-threshold method; docs/algorithms.md): a
// controller that moves alpha, the weight of the sparsity regulariser, until the global density
// of the thresholded masks sits at a requested value. The paper has only a fixed alpha, whose
// final density depends on the model, the data and the run length.
#pragma once

#include <cmath>

namespace srigl {

// Proportional-integral control of log(alpha) by the log of density / target. The thresholds
// already integrate alpha (their drift speed grows with it), so a pure integral controller would
// oscillate; the proportional term damps it, the integral term removes the offset a proportional
// term alone would leave. Working on logs keeps alpha positive and makes the correction relative,
// whatever alpha's scale. Its whole state is two numbers (saved in checkpoints).
class ThresholdDensityController {
public:
    // The gains and the range of the integral are in the .cpp (docs/algorithms.md gives them).
    ThresholdDensityController() = default;
    ThresholdDensityController(double alpha, double target)
        : target_(target), alpha_(alpha), start_(alpha > 0.0 ? std::log(alpha) : 0.0), integral_(start_) {}

    bool enabled() const { return target_ > 0.0; }
    double alpha() const { return alpha_; }
    double integral() const { return integral_; }
    // A checkpoint's state.
    void restore(double alpha, double integral) {
        alpha_ = alpha;
        integral_ = integral;
    }
    // One step: the density the masks have now; returns the alpha of the next step.
    double update(double density);

private:
    double target_ = 0.0;
    double alpha_ = 0.0;
    double start_ = 0.0;
    double integral_ = 0.0;
};

} // namespace srigl
