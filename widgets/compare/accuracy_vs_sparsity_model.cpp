// Grouping finished runs by method and sparsity.
#include "widgets/compare/accuracy_vs_sparsity_model.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace srigl::studio {

std::string modelLabel(const sessions::RunInfo& run) { return run.model + " / " + run.dataset; }

AccuracyVsSparsity accuracyVsSparsity(const std::vector<sessions::RunInfo>& runs, const std::string& modelFilter) {
    AccuracyVsSparsity out;
    std::set<std::string> models;
    for (const auto& run : runs) {
        if (run.status != sessions::RunStatus::Finished || run.testAccuracy < 0) continue;
        models.insert(modelLabel(run));
        if (!modelFilter.empty() && modelLabel(run) != modelFilter) continue;
        auto& points = out.methods[run.method];
        auto it = std::find_if(points.begin(), points.end(),
                               [&](const AccuracyPoint& p) { return std::abs(p.sparsity - run.sparsity) < 1e-9; });
        if (it == points.end()) {
            points.push_back({run.sparsity, 0.0, run.testAccuracy, run.testAccuracy, 0});
            it = points.end() - 1;
        }
        // mean holds the sum until the end
        it->mean += run.testAccuracy;
        it->min = std::min(it->min, run.testAccuracy);
        it->max = std::max(it->max, run.testAccuracy);
        ++it->runs;
    }
    for (auto& [method, points] : out.methods) {
        for (auto& p : points) p.mean /= p.runs;
        std::sort(points.begin(), points.end(), [](const AccuracyPoint& a, const AccuracyPoint& b) { return a.sparsity < b.sparsity; });
    }
    out.models.assign(models.begin(), models.end());
    return out;
}

} // namespace srigl::studio
