// Config checks for the launcher: the engine decides, the Studio only reports.
#include "widgets/launch/config_validation.hpp"

#include "engine/errors.hpp"
#include "engine/training/memory_estimate.hpp"

#include <cstdio>

namespace srigl::studio {

ConfigCheck checkConfig(const RunConfig& config) {
    ConfigCheck check;
    check.config = config;
    try {
        // planRun runs validateConfig first, then builds the model to check its layer shapes.
        check.plan = planRun(config);
        // What the trainer checks before it allocates, said while the config is edited.
        const MemoryEstimate estimate = estimateTrainingMemory(plannedMemoryFacts(config),
                                                               optimizerStateBytes(config.optimizer, config.momentum));
        const auto available = availableMemory();
        if (config.device == "cpu") requireMemoryFits(estimate, available);
        check.memoryBytes = estimate.bytes;
        check.availableBytes = available ? available->bytes : 0;
        check.ok = true;
    } catch (const ConfigError& e) {
        check.key = e.key();
        check.message = e.what();
    } catch (const std::exception& e) {
        check.message = e.what();
    }
    return check;
}

ConfigCheck checkConfigValues(const std::vector<std::pair<std::string, std::string>>& values) {
    RunConfig config;
    ConfigCheck firstError;
    for (const auto& [key, text] : values) {
        try {
            applyOverride(config, key + "=" + text);
        } catch (const ConfigError& e) {
            // Keep parsing the rest, so that the config carries every other edit.
            if (firstError.message.empty()) {
                firstError.key = e.key();
                firstError.message = e.what();
            }
        }
    }
    if (!firstError.message.empty()) {
        firstError.config = config;
        return firstError;
    }
    return checkConfig(config);
}

std::string describePlan(const std::vector<LayerPlan>& plan, const RunConfig& config) {
    std::string out;
    if (config.method == "trainable_threshold") { // (the engine's isTrainableThreshold needs Torch)
        char target[64] = "";
        if (config.tt_target_density > 0)
            std::snprintf(target, sizeof target, "; tt_target_density steers them to %.3f", config.tt_target_density);
        out = std::string("thresholds learned per neuron: every layer starts dense and finds its own density") + target;
    }
    for (const auto& layer : plan) {
        std::string shape;
        for (size_t i = 0; i < layer.shape.size(); ++i) shape += (i ? " x " : "") + std::to_string(layer.shape[i]);
        char numbers[96];
        std::snprintf(numbers, sizeof numbers, "density %.3f  k %lld", layer.density, static_cast<long long>(layer.k));
        out += (out.empty() ? "" : "\n") + layer.name + "  " + shape + "  " + numbers;
    }
    return out;
}

std::string describeMemory(const ConfigCheck& check) {
    if (!check.ok) return "";
    std::string out = "memory: at least " + formatMemorySize(check.memoryBytes) +
                      " for weights, gradients, masks and optimizer state";
    if (check.availableBytes > 0) out += " (" + formatMemorySize(check.availableBytes) + " available)";
    return out;
}

} // namespace srigl::studio
