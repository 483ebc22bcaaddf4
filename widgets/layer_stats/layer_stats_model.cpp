// Layer statistics from the statistics of mask snapshots.
#include "widgets/layer_stats/layer_stats_model.hpp"

#include "engine/analysis/mask_diversity.hpp"

#include <algorithm>
#include <cmath>

namespace srigl::studio {
namespace {

LayerSeries& seriesOf(std::vector<LayerSeries>& all, const std::string& layer) {
    auto it = std::find_if(all.begin(), all.end(), [&](const LayerSeries& s) { return s.layer == layer; });
    if (it != all.end()) return *it;
    all.push_back({layer, {}});
    return all.back();
}

} // namespace

double layerDiversity(const LayerUpdateStats& s) {
    if (s.k > 0) return nm::log10MdConstantFanIn(s.active, s.fanIn, s.k);
    const int64_t total = s.outFeatures * s.fanIn;
    return nm::log10MdUnstructured(total, std::llround((1.0 - s.sparsity) * static_cast<double>(total)));
}

std::vector<LayerStatsRow> layerStatsAt(const std::vector<sessions::MaskStatsRecord>& records, int64_t step) {
    std::vector<LayerStatsRow> rows;
    std::vector<std::string> order;
    for (const auto& r : records)
        if (std::find(order.begin(), order.end(), r.stats.name) == order.end()) order.push_back(r.stats.name);
    for (const auto& name : order) {
        const sessions::MaskStatsRecord* best = nullptr;
        bool first = true, bestIsFirst = false;
        for (const auto& r : records) {
            if (r.stats.name != name) continue;
            if (step < 0 || r.step <= step) {
                if (!best || r.step >= best->step) {
                    best = &r;
                    bestIsFirst = first;
                }
            }
            first = false;
        }
        if (!best) continue;
        const auto& s = best->stats;
        LayerStatsRow row;
        row.name = name;
        row.step = best->step;
        row.outFeatures = s.outFeatures;
        row.fanIn = s.fanIn;
        row.sparsity = s.sparsity;
        row.k = s.k;
        row.active = s.active;
        row.ablated = s.ablated;
        if (!bestIsFirst) {
            row.sad = s.sad;
            row.pruned = s.pruned;
            row.regrown = s.regrown;
        }
        row.log10Diversity = layerDiversity(s);
        row.thresholds = s.thresholds;
        rows.push_back(row);
    }
    return rows;
}

std::vector<LayerSeries> sadSeries(const std::vector<sessions::MaskStatsRecord>& records) {
    std::vector<LayerSeries> out;
    std::vector<std::string> seen;
    for (const auto& r : records) {
        auto& s = seriesOf(out, r.stats.name);
        if (std::find(seen.begin(), seen.end(), r.stats.name) == seen.end()) {
            seen.push_back(r.stats.name); // the initial snapshot is no update
            continue;
        }
        s.points.push_back({static_cast<double>(r.step), static_cast<double>(r.stats.sad)});
    }
    return out;
}

std::vector<LayerSeries> ablationTimeline(const std::vector<sessions::MaskStatsRecord>& records) {
    std::vector<LayerSeries> out;
    for (const auto& r : records)
        seriesOf(out, r.stats.name).points.push_back({static_cast<double>(r.step), static_cast<double>(r.stats.ablated)});
    return out;
}

ThresholdSummary summarizeThresholds(const std::vector<float>& thresholds) {
    ThresholdSummary s;
    if (thresholds.empty()) return s;
    s.min = s.max = thresholds[0];
    double sum = 0.0;
    for (float t : thresholds) {
        sum += t;
        s.min = std::min(s.min, double(t));
        s.max = std::max(s.max, double(t));
    }
    s.mean = sum / static_cast<double>(thresholds.size());
    return s;
}

std::vector<LayerSeries> thresholdMeans(const std::vector<sessions::MaskStatsRecord>& records) {
    std::vector<LayerSeries> out;
    for (const auto& r : records)
        if (!r.stats.thresholds.empty())
            seriesOf(out, r.stats.name)
                .points.push_back({static_cast<double>(r.step), summarizeThresholds(r.stats.thresholds).mean});
    return out;
}

RealHistogram realHistogram(const std::vector<float>& values, int bins) {
    RealHistogram h;
    double lo = 0.0, hi = 0.0;
    bool any = false;
    for (float v : values) {
        if (!std::isfinite(v)) continue;
        lo = any ? std::min(lo, double(v)) : double(v);
        hi = any ? std::max(hi, double(v)) : double(v);
        any = true;
    }
    if (!any || bins < 1) return h;
    h.lo = lo;
    h.width = hi > lo ? (hi - lo) / bins : 0.0;
    h.counts.assign(hi > lo ? static_cast<size_t>(bins) : 1, 0);
    for (float v : values) {
        if (!std::isfinite(v)) continue;
        const auto bin = h.width > 0 ? static_cast<size_t>((double(v) - lo) / h.width) : 0;
        ++h.counts[std::min(bin, h.counts.size() - 1)]; // the maximum falls in the last bin
    }
    return h;
}

} // namespace srigl::studio
