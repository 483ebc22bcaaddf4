// The shared binning reuses integerHistogram's choice of lo and width on the union's extremes, so a
// run alone and the same run in a comparison are binned alike whenever the range allows.
#include "widgets/logic/degree_comparison.hpp"

#include <algorithm>
#include <limits>

namespace srigl::studio {

std::vector<std::string> commonLayers(const std::vector<std::vector<std::string>>& layersPerRun) {
    std::vector<std::string> out;
    const std::vector<std::string>* first = nullptr;
    for (const auto& layers : layersPerRun)
        if (!layers.empty()) {
            first = &layers;
            break;
        }
    if (!first) return out;
    for (const auto& name : *first) {
        const bool everywhere = std::all_of(layersPerRun.begin(), layersPerRun.end(), [&](const auto& layers) {
            return layers.empty() || std::find(layers.begin(), layers.end(), name) != layers.end();
        });
        if (everywhere && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    return out;
}

int64_t maskStepAt(const std::vector<int64_t>& maskSteps, int64_t trainingSteps, double fraction) {
    if (maskSteps.empty()) return -1;
    if (fraction >= 1.0) return maskSteps.back();
    const int64_t total = std::max(trainingSteps, maskSteps.back());
    const auto target = static_cast<int64_t>(std::max(0.0, fraction) * static_cast<double>(total));
    // The latest snapshot at or before the target is the mask training was using there.
    const auto after = std::upper_bound(maskSteps.begin(), maskSteps.end(), target);
    return after == maskSteps.begin() ? maskSteps.front() : *(after - 1);
}

SharedHistograms sharedHistograms(const std::vector<std::vector<int64_t>>& valuesPerRun, int maxBins) {
    SharedHistograms out;
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    for (const auto& values : valuesPerRun)
        for (int64_t v : values) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    out.histograms.resize(valuesPerRun.size());
    if (lo > hi) return out; // no values at all: empty histograms
    const IntHistogram bins = integerHistogram({lo, hi}, maxBins);
    for (size_t r = 0; r < valuesPerRun.size(); ++r) {
        auto& h = out.histograms[r];
        h.lo = bins.lo;
        h.width = bins.width;
        h.counts.assign(bins.counts.size(), 0);
        for (int64_t v : valuesPerRun[r]) ++h.counts[static_cast<size_t>((v - h.lo) / h.width)];
        for (int64_t c : h.counts) out.highestCount = std::max(out.highestCount, c);
    }
    return out;
}

int occupiedBins(const IntHistogram& histogram) {
    return static_cast<int>(std::count_if(histogram.counts.begin(), histogram.counts.end(), [](int64_t c) { return c > 0; }));
}

} // namespace srigl::studio
