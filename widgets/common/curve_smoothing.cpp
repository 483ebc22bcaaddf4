// EMA smoothing of curves.
#include "widgets/common/curve_smoothing.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace srigl::studio {

std::vector<CurvePoint> emaSmooth(const std::vector<CurvePoint>& points, double weight) {
    if (!(weight >= 0.0 && weight < 1.0))
        throw std::invalid_argument("smoothing weight must be in [0, 1), got " + std::to_string(weight));
    std::vector<CurvePoint> out;
    out.reserve(points.size());
    bool started = false;
    double s = 0.0;
    for (const auto& p : points) {
        if (!std::isfinite(p.value)) {
            out.push_back(p);
            continue;
        }
        s = started ? weight * s + (1.0 - weight) * p.value : p.value;
        started = true;
        out.push_back({p.step, s});
    }
    return out;
}

} // namespace srigl::studio
