// The inspector's reads, through RunStore's bounded queries (one indexed query each).
#include "widgets/inspector/snapshot_reads.hpp"

#include "sessions/store/store_error.hpp"

namespace srigl::studio {

std::vector<int64_t> maskSteps(sessions::RunStore& store, int64_t runId) { return store.maskSteps(runId); }

std::vector<std::string> maskLayers(sessions::RunStore& store, int64_t runId) { return store.maskLayers(runId); }

LayerAtStep layerAtStep(sessions::RunStore& store, int64_t runId, const std::string& layer, int64_t step) {
    LayerAtStep out;
    out.runId = runId;
    out.requestedStep = step;
    auto masks = store.masksAtOrBefore(runId, layer, step, 2);
    if (masks.empty())
        throw sessions::StoreError("run " + std::to_string(runId) + " has no mask of layer '" + layer +
                                   "' at or before step " + std::to_string(step));
    out.current = std::move(masks[0]);
    if (masks.size() > 1) out.previous = std::move(masks[1]);
    auto weights = store.weightValues(runId, layer, out.current.step);
    if (!weights.empty()) out.weights = std::move(weights.front().values);
    auto gradients = store.gradientValues(runId, layer, out.current.step);
    if (!gradients.empty()) {
        const auto& g = gradients.front();
        if (g.outFeatures != out.current.mask.outFeatures || g.fanIn != out.current.mask.fanIn)
            throw sessions::StoreError("run " + std::to_string(runId) + ": the gradient of '" + layer + "' at step " +
                                       std::to_string(g.step) + " has another shape than its mask");
        out.gradients = std::move(gradients.front().values);
    }
    return out;
}

} // namespace srigl::studio
