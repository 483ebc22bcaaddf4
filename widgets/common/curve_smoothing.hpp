// Exponential moving average of a curve (the compare dashboard's smoothing slider), the way
// TensorBoard smooths: s_0 = v_0, s_i = w * s_{i-1} + (1 - w) * v_i. Non-finite values pass
// through unsmoothed and do not disturb the average.
#pragma once

#include "widgets/common/session_history.hpp"

#include <vector>

namespace srigl::studio {

// weight in [0, 1): 0 returns the curve unchanged. Throws std::invalid_argument otherwise.
std::vector<CurvePoint> emaSmooth(const std::vector<CurvePoint>& points, double weight);

} // namespace srigl::studio
