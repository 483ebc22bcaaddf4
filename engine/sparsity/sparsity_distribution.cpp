// Uniform and ERK layer densities (docs/algorithms.md, "Layer sparsity distribution").
#include "engine/sparsity/sparsity_distribution.hpp"

#include "engine/errors.hpp"

#include <cmath>
#include <numeric>

namespace srigl {

int64_t LayerShape::numel() const {
    if (dims.empty()) return 0;
    return std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<int64_t>());
}

Distribution parseDistribution(const std::string& name) {
    if (name == "uniform") return Distribution::Uniform;
    if (name == "erk") return Distribution::Erk;
    throw ConfigError("distribution", "unknown value '" + name + "' (expected uniform or erk)");
}

int64_t layerBudget(const LayerShape& layer, double density) {
    // The small epsilon keeps e.g. 0.1 * 1000 from flooring to 99 through rounding error.
    return static_cast<int64_t>(std::floor(static_cast<double>(layer.numel()) * density + 1e-9));
}

std::vector<double> layerDensities(const std::vector<LayerShape>& layers, double sparsity,
                                   const DistributionOptions& options) {
    const size_t n = layers.size();
    std::vector<double> density(n, 1.0);
    if (n == 0 || sparsity <= 0.0) return density;

    std::vector<bool> dense(n, false);
    if (options.denseFirst) dense.front() = true;
    if (options.denseLast) dense.back() = true;

    double total = 0.0;
    for (const auto& l : layers) total += static_cast<double>(l.numel());
    const double keep = (1.0 - sparsity) * total;

    // raw[i]: relative density before scaling (1 for uniform, the ERK score otherwise).
    std::vector<double> raw(n, 1.0);
    if (options.kind == Distribution::Erk) {
        for (size_t i = 0; i < n; ++i) {
            double sum = 0.0;
            for (auto d : layers[i].dims) sum += static_cast<double>(d);
            raw[i] = sum / static_cast<double>(layers[i].numel());
        }
    }

    // Solve eps with sum_i eps * raw_i * numel_i = keep - dense weights; any layer pushed above
    // density 1 becomes dense and eps is solved again, until every density is valid.
    for (size_t iteration = 0; iteration <= n; ++iteration) {
        double denseWeights = 0.0, scored = 0.0;
        for (size_t i = 0; i < n; ++i) {
            if (dense[i]) denseWeights += static_cast<double>(layers[i].numel());
            else scored += raw[i] * static_cast<double>(layers[i].numel());
        }
        if (scored <= 0.0) break; // every layer dense
        const double eps = (keep - denseWeights) / scored;
        bool changed = false;
        for (size_t i = 0; i < n; ++i) {
            if (dense[i]) continue;
            if (eps * raw[i] > 1.0) {
                dense[i] = true;
                changed = true;
            }
        }
        if (changed) continue;
        for (size_t i = 0; i < n; ++i) density[i] = dense[i] ? 1.0 : std::max(0.0, eps * raw[i]);
        return density;
    }
    // Forced-dense layers already hold more than the budget: the rest can only be empty-ish;
    // keep the smallest valid densities and let validation report k = 0.
    for (size_t i = 0; i < n; ++i) density[i] = dense[i] ? 1.0 : 0.0;
    return density;
}

} // namespace srigl
