// One pass for min/max, one for moments (in double: fan-in sums of float32 lose digits) and bins.
#include "sessions/store/weight_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace srigl::sessions {

LayerWeightStats computeWeightStats(const std::string& layer, const std::vector<float>& active, int bins) {
    LayerWeightStats s;
    s.name = layer;
    s.histogram.assign(static_cast<size_t>(std::max(bins, 1)), 0);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    int64_t n = 0;
    double sum = 0.0;
    for (float v : active) {
        if (std::isnan(v)) continue;
        lo = std::min(lo, static_cast<double>(v));
        hi = std::max(hi, static_cast<double>(v));
        sum += v;
        ++n;
    }
    if (n == 0) return s;
    const double mean = sum / static_cast<double>(n);
    double sq = 0.0;
    const double width = (hi - lo) / static_cast<double>(s.histogram.size());
    for (float v : active) {
        if (std::isnan(v)) continue;
        sq += (v - mean) * (v - mean);
        size_t bin = 0;
        if (width > 0 && std::isfinite(width))
            bin = std::min(s.histogram.size() - 1, static_cast<size_t>((v - lo) / width));
        ++s.histogram[bin];
    }
    s.count = n;
    s.mean = mean;
    s.std = std::sqrt(sq / static_cast<double>(n));
    s.min = lo;
    s.max = hi;
    return s;
}

} // namespace srigl::sessions
