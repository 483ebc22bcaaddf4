// JSON renderings of trainer events. Key names are part of the CLI's contract (see README).
#include "json_events.hpp"

namespace srigl::cli {

nlohmann::json layerJson(const LayerUpdateStats& l) {
    nlohmann::json j = {{"name", l.name},       {"shape", l.shape},         {"sparsity", l.sparsity},
            {"k", l.k},             {"fan_in_min", l.fanInMin}, {"fan_in_max", l.fanInMax},
            {"active", l.active},   {"ablated", l.ablated},     {"pruned", l.pruned},
            {"regrown", l.regrown}, {"sad", l.sad},             {"compute", l.compute}};
    // Only where it applies (N:M methods), so other runs' output is unchanged.
    if (l.nmValid >= 0) j["nm_valid"] = l.nmValid == 1;
    return j;
}

nlohmann::json stepJson(const StepMetrics& m) {
    return {{"event", "step"},   {"step", m.step},         {"total_steps", m.totalSteps},
            {"epoch", m.epoch},  {"loss", m.loss},         {"accuracy", m.accuracy},
            {"lr", m.lr},        {"samples_per_second", m.samplesPerSecond}, {"seconds", m.elapsedSeconds}};
}

nlohmann::json evalJson(const EvalMetrics& m) {
    return {{"event", "eval"}, {"step", m.step}, {"epoch", m.epoch}, {"test_loss", m.testLoss},
            {"test_accuracy", m.testAccuracy}};
}

nlohmann::json maskUpdateJson(const MaskUpdateEvent& e) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : e.layers) layers.push_back(layerJson(l));
    return {{"event", "mask_update"}, {"step", e.step}, {"drop_fraction", e.dropFraction},
            {"seconds", e.seconds}, {"layers", layers}};
}

nlohmann::json denseReferenceJson(const DenseReference& r) {
    return {{"measured", r.measured},
            {"step_ms", r.measured ? nlohmann::json(r.stepMs) : nlohmann::json()},
            {"steps", r.steps},
            {"estimated_bytes", r.estimatedBytes},
            {"skipped", r.skipped}};
}

nlohmann::json summaryJson(const TrainingSummary& s) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : s.layers) layers.push_back(layerJson(l));
    const bool ratio = s.denseReference.measured && s.stepMs > 0;
    return {{"event", "summary"},
            {"status", toString(s.status)},
            {"message", s.message},
            {"test_accuracy", s.testAccuracy},
            {"test_loss", s.testLoss},
            {"train_loss", s.trainLoss},
            {"train_accuracy", s.trainAccuracy},
            {"steps", s.steps},
            {"seconds", s.seconds},
            {"update_seconds", s.updateSeconds},
            {"checkpoint_seconds", s.checkpointSeconds},
            {"updates", s.updates},
            {"samples_per_second", s.samplesPerSecond},
            {"step_ms", s.timedSteps > 0 ? nlohmann::json(s.stepMs) : nlohmann::json()},
            {"timed_steps", s.timedSteps},
            {"dense_step_ms", s.denseReference.measured ? nlohmann::json(s.denseReference.stepMs) : nlohmann::json()},
            {"speedup_vs_dense", ratio ? nlohmann::json(s.denseReference.stepMs / s.stepMs) : nlohmann::json()},
            {"dense_reference", denseReferenceJson(s.denseReference)},
            {"layers", layers}};
}

} // namespace srigl::cli
