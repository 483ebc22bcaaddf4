// Turns the launcher's text values into a RunConfig and checks it with the engine's own rules
// (applyOverride, validateConfig, planRun), keeping the engine's message and the key it names.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/training/trainer.hpp"

#include <string>
#include <utility>
#include <vector>

namespace srigl::studio {

struct ConfigCheck {
    bool ok = false;
    std::string key;     // the key the engine blamed ("" when it named none)
    std::string message; // the engine's message, e.g. "sparsity: must be in [0, 1), got 1.500000"
    RunConfig config;    // every value that parsed, on top of the defaults
    std::vector<LayerPlan> plan; // the sparse layers the config trains (when ok)
    // When ok: the lower bound of what those layers hold while training (engine/training/
    // memory_estimate.hpp), and what this machine has (0: unknown). A CPU run that surely cannot
    // fit is not ok: the engine's message says so before anything is launched.
    uint64_t memoryBytes = 0;
    uint64_t availableBytes = 0;
};

// values: key -> text as the CLI's --set takes it; keys not given keep their defaults.
ConfigCheck checkConfigValues(const std::vector<std::pair<std::string, std::string>>& values);
ConfigCheck checkConfig(const RunConfig& config);

// One line per layer, e.g. "fc1  300 x 784  density 0.089  k 70". For trainable_threshold, whose
// layers start dense and learn their own density, a first line says so (and names the target
// density when tt_target_density sets one), so that "density 1.000" is not read as no sparsity.
std::string describePlan(const std::vector<LayerPlan>& plan, const RunConfig& config = {});

// "memory: at least 1.2 GiB for weights, gradients, masks and optimizer state (22.8 GiB available)";
// "" when the check was not ok.
std::string describeMemory(const ConfigCheck& check);

} // namespace srigl::studio
