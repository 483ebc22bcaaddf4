#include "widgets/heatmap/weight_heatmap.hpp"

#include "sessions/store/weight_codec.hpp"
#include "sessions/render/weight_renderer.hpp"

#include <algorithm>
#include <cmath>

namespace srigl::studio {

namespace {
constexpr double kLogFloor = 1e-3; // fraction of max|w| that maps to log10(2)
}

double heatmapValue(double w, double maxAbs, bool logScale) {
    if (!logScale || !(maxAbs > 0.0)) return w;
    return std::copysign(std::log10(1.0 + std::fabs(w) / (kLogFloor * maxAbs)), w);
}

HeatmapImage renderHeatmap(const LayerMaskSnapshot& mask, const std::vector<float>& active, const HeatmapOptions& options) {
    LayerWeightSnapshot dense = sessions::expandWeights(active, mask);
    double maxAbs = 0.0;
    for (float v : active) maxAbs = std::max(maxAbs, static_cast<double>(std::fabs(v)));
    double low = 0.0, high = 0.0;
    bool first = true;
    for (float v : active) {
        const double t = heatmapValue(v, maxAbs, options.logScale);
        low = first ? t : std::min(low, t);
        high = first ? t : std::max(high, t);
        first = false;
    }
    if (options.logScale)
        for (float& v : dense.values) v = static_cast<float>(heatmapValue(v, maxAbs, true));
    if (options.symmetric) {
        const double m = std::max(std::fabs(low), std::fabs(high));
        low = -m;
        high = m;
    }
    if (!(high > low)) { // one value (or none): any non-empty range shows it in one colour
        low -= 1e-6;
        high += 1e-6;
    }
    sessions::WeightRenderOptions ro;
    ro.colormap = options.colormap;
    ro.low = low;
    ro.high = high;
    HeatmapImage out;
    out.image = sessions::renderWeights(dense, &mask, ro);
    out.low = low;
    out.high = high;
    return out;
}

} // namespace srigl::studio
