// Degrees come from row and column counts of the packed bits; the next layer's columns are summed
// per neuron of this one.
#include "widgets/logic/degree_histograms.hpp"

#include "sessions/mask/mask_bits.hpp"

#include <algorithm>
#include <stdexcept>

namespace srigl::studio {

int64_t IntHistogram::total() const {
    int64_t n = 0;
    for (int64_t c : counts) n += c;
    return n;
}

IntHistogram integerHistogram(const std::vector<int64_t>& values, int maxBins) {
    IntHistogram h;
    if (values.empty()) return h;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    const int64_t bins = std::max(1, maxBins);
    int64_t width = (*hi - *lo + bins) / bins; // ceil(span / bins), span = hi - lo + 1
    // Bin edges on multiples of the width read better ("8-15", not "3-10"); widen once more when the
    // alignment would need one bin too many.
    auto start = [&](int64_t w) { return *lo - ((*lo % w) + w) % w; };
    while ((*hi - start(width)) / width + 1 > bins) ++width;
    h.width = width;
    h.lo = width == 1 ? *lo : start(width);
    h.counts.assign(static_cast<size_t>((*hi - h.lo) / width + 1), 0);
    for (int64_t v : values) ++h.counts[static_cast<size_t>((v - h.lo) / width)];
    return h;
}

DegreeStats degreeStats(const std::vector<int64_t>& values, const std::vector<uint8_t>& skip) {
    DegreeStats s;
    double sum = 0.0;
    for (size_t i = 0; i < values.size(); ++i) {
        if (i < skip.size() && skip[i]) continue;
        const int64_t v = values[i];
        s.min = s.count == 0 ? v : std::min(s.min, v);
        s.max = s.count == 0 ? v : std::max(s.max, v);
        sum += static_cast<double>(v);
        ++s.count;
    }
    if (s.count > 0) s.mean = sum / static_cast<double>(s.count);
    return s;
}

LayerDegrees layerDegrees(const LayerMaskSnapshot& mask, int maxBins) {
    LayerDegrees d;
    d.name = mask.name;
    d.outFeatures = mask.outFeatures;
    d.fanIn = mask.fanIn;
    d.rowStride = mask.rowStride;
    d.layerOutFeatures = mask.layerRows();
    d.fanInPerNeuron = sessions::rowCounts(mask);
    d.outDegreePerInput = sessions::columnCounts(mask);
    d.ablated = sessions::ablatedFlags(mask);
    for (uint8_t a : d.ablated) d.ablatedCount += a;
    for (int64_t n : d.fanInPerNeuron) d.kept += n;
    d.fanInHistogram = integerHistogram(d.fanInPerNeuron, maxBins);
    d.outDegreeHistogram = integerHistogram(d.outDegreePerInput, maxBins);
    d.fanInStats = degreeStats(d.fanInPerNeuron, d.ablated);
    d.outDegreeStats = degreeStats(d.outDegreePerInput);
    return d;
}

std::string toString(NextLayerGrouping grouping) {
    switch (grouping) {
    case NextLayerGrouping::Columns:
        return "columns";
    case NextLayerGrouping::FlattenedChannels:
        return "flattened channels";
    case NextLayerGrouping::ConvInputChannels:
        return "conv input channels";
    }
    return "columns";
}

namespace {

double percent(int64_t part, int64_t whole) {
    return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

} // namespace

NextLayerUse nextLayerUse(const LayerMaskSnapshot& layer, const LayerMaskSnapshot& next,
                          const std::vector<int64_t>& nextShape, int maxBins) {
    sessions::checkMask(layer);
    sessions::checkMask(next);
    for (const LayerMaskSnapshot* m : {&layer, &next})
        if (m->sampled())
            throw std::invalid_argument("'" + m->name + "' is too large to snapshot whole: its mask holds " +
                                        everyNth(m->rowStride) + " of its " + std::to_string(m->layerRows()) +
                                        " neurons, so which neurons of '" + layer.name + "' '" + next.name +
                                        "' reads is not known");
    const int64_t out = layer.outFeatures;
    NextLayerUse u;
    u.layer = layer.name;
    u.nextLayer = next.name;
    if (nextShape.size() == 4) {
        if (nextShape[1] != out || nextShape[1] * nextShape[2] * nextShape[3] != next.fanIn)
            throw std::invalid_argument("'" + next.name + "' does not read the " + std::to_string(out) +
                                        " channels of '" + layer.name + "'");
        u.grouping = NextLayerGrouping::ConvInputChannels;
        u.groupSize = nextShape[2] * nextShape[3];
    } else if (next.fanIn == out) {
        u.grouping = NextLayerGrouping::Columns;
        u.groupSize = 1;
    } else if (next.fanIn % out == 0) {
        u.grouping = NextLayerGrouping::FlattenedChannels;
        u.groupSize = next.fanIn / out;
    } else {
        throw std::invalid_argument("'" + next.name + "' has fan-in " + std::to_string(next.fanIn) +
                                    ", which does not map onto the " + std::to_string(out) + " neurons of '" +
                                    layer.name + "'");
    }
    const auto columns = sessions::columnCounts(next);
    u.outDegree.assign(static_cast<size_t>(out), 0);
    for (size_t c = 0; c < columns.size(); ++c) u.outDegree[c / static_cast<size_t>(u.groupSize)] += columns[c];

    const auto fanIn = sessions::rowCounts(layer);
    const auto ablated = sessions::ablatedFlags(layer);
    int64_t kept = 0;
    for (int64_t n : fanIn) kept += n;
    for (int64_t r = 0; r < out; ++r) {
        const auto i = static_cast<size_t>(r);
        if (ablated[i]) {
            ++u.ablatedCount;
            if (u.outDegree[i] > 0) {
                u.ablatedStillRead.push_back(r);
                u.connectionsFromAblated += u.outDegree[i];
            }
        } else if (u.outDegree[i] == 0 && fanIn[i] > 0) {
            u.unused.push_back(r);
            u.unusedWeights += fanIn[i];
        }
    }
    u.unusedPercent = percent(static_cast<int64_t>(u.unused.size()), out);
    u.unusedWeightPercent = percent(u.unusedWeights, kept);
    u.outDegreeHistogram = integerHistogram(u.outDegree, maxBins);
    u.outDegreeStats = degreeStats(u.outDegree, ablated);
    return u;
}

} // namespace srigl::studio
