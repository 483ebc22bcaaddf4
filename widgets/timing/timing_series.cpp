// Speed-up lines from timing rows.
#include "widgets/timing/timing_series.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace srigl::studio {

double variantUs(const sessions::TimingRecord& row, TimingVariant variant) {
    switch (variant) {
    case TimingVariant::Csr: return row.csrUs;
    case TimingVariant::Structured: return row.structuredUs;
    default: return row.condensedUs;
    }
}

std::vector<TimingLine> speedupLines(const std::vector<sessions::TimingRecord>& rows, TimingAxis axis,
                                     TimingVariant variant, const std::string& device) {
    // line key -> x -> (createdAt, speed-up); sparsity keyed in tenths of a percent
    std::map<long long, std::map<double, std::pair<int64_t, double>>> lines;
    for (const auto& r : rows) {
        if (r.device != device || r.layer == "model") continue;
        const double us = variantUs(r, variant);
        if (!std::isfinite(us) || us <= 0 || !std::isfinite(r.denseUs)) continue;
        const long long sparsityKey = std::llround(r.sparsity * 1000);
        const long long key = axis == TimingAxis::Batch ? sparsityKey : r.batch;
        const double x = axis == TimingAxis::Batch ? static_cast<double>(r.batch) : sparsityKey / 1000.0;
        auto& slot = lines[key][x];
        if (r.createdAt >= slot.first) slot = {r.createdAt, r.denseUs / us};
    }
    std::vector<TimingLine> out;
    for (const auto& [key, points] : lines) {
        TimingLine line;
        char name[48];
        if (axis == TimingAxis::Batch) std::snprintf(name, sizeof name, "%g %%", key / 10.0);
        else std::snprintf(name, sizeof name, "batch %lld", key);
        line.name = name;
        for (const auto& [x, value] : points) line.points.push_back({x, value.second});
        out.push_back(std::move(line));
    }
    return out;
}

} // namespace srigl::studio
