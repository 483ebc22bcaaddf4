// Pairs each weight row with the latest mask snapshot at or before its step (masks are stored only
// when they change; weights at every snapshot).
#include "sessions/store/weight_history.hpp"

#include "sessions/store/weight_codec.hpp"

#include <set>

namespace srigl::sessions {

std::vector<WeightFrame> weightHistory(RunStore& store, int64_t runId, const std::string& layer) {
    const auto values = store.weightValues(runId, layer);
    if (values.empty()) {
        std::set<std::string> names;
        for (const auto& v : store.weightValues(runId)) names.insert(v.layer);
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        throw StoreError("run " + std::to_string(runId) + " has no recorded weights of layer '" + layer + "' (" +
                         (list.empty() ? "no weights recorded: runs recorded before weights were stored have none"
                                       : "layers: " + list) +
                         ")");
    }
    const auto masks = store.masks(runId, layer);
    std::vector<WeightFrame> out;
    size_t m = 0;
    for (const auto& v : values) {
        while (m + 1 < masks.size() && masks[m + 1].step <= v.step) ++m;
        if (masks.empty() || masks[m].step > v.step)
            throw StoreError("run " + std::to_string(runId) + ": weights of " + layer + " at step " +
                             std::to_string(v.step) + " have no mask snapshot at or before that step");
        WeightFrame f;
        f.step = v.step;
        f.mask = masks[m].mask;
        f.weights = expandWeights(v.values, f.mask);
        out.push_back(std::move(f));
    }
    return out;
}

} // namespace srigl::sessions
