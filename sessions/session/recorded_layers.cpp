// The weight history's newest frame of each layer, as the dense tensors the benchmark takes.
#include "sessions/session/recorded_layers.hpp"
#include "sessions/mask/mask_bits.hpp"

#include "sessions/store/weight_history.hpp"

#include <cstring>
#include <map>

namespace srigl::sessions {

RecordedLayers recordedMatrixLayers(RunStore& store, int64_t runId) {
    std::map<std::string, MaskStatsRecord> lastStats;
    for (const auto& s : store.maskStats(runId)) lastStats[s.stats.name] = s;
    RecordedLayers out;
    for (const auto& name : store.maskLayers(runId)) {
        const LayerUpdateStats& stats = lastStats.at(name).stats;
        if (stats.k <= 0) {
            out.skipped.push_back(name + ": not constant fan-in (its neurons keep different numbers of inputs)");
            continue;
        }
        // A condensed layer beyond the weight snapshots' limit has its masks recorded, not its weights.
        if (store.weightStats(runId, name).empty()) {
            out.skipped.push_back(name + ": no weights recorded (" + std::to_string(stats.outFeatures) + " x " +
                                  std::to_string(stats.fanIn) + " is too large to snapshot, or the run predates weights)");
            continue;
        }
        const WeightFrame frame = weightHistory(store, runId, name).back();
        const int64_t rows = frame.weights.outFeatures, cols = frame.weights.fanIn;
        auto weight = torch::empty({rows, cols});
        std::memcpy(weight.data_ptr<float>(), frame.weights.values.data(), frame.weights.values.size() * sizeof(float));
        auto mask = torch::zeros({rows, cols}, torch::kBool);
        bool* bits = mask.data_ptr<bool>();
        for (int64_t i = 0; i < rows * cols; ++i) bits[i] = maskKept(frame.mask, i);
        out.layers.push_back({name, weight, mask, torch::Tensor()});
    }
    return out;
}

} // namespace srigl::sessions
