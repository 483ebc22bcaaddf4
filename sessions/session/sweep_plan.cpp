// Grid parsing and expansion; validation is the engine's (applyOverride, planRun), so a sweep
// accepts exactly what `srigl train --set` accepts.
#include "sessions/session/sweep_plan.hpp"

#include "engine/errors.hpp"
#include "engine/training/trainer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <sstream>

namespace srigl::sessions {

std::string SweepPoint::label() const {
    std::string out;
    for (const auto& [k, v] : assignment) out += (out.empty() ? "" : " ") + k + "=" + v;
    return out;
}

GridAxis parseGridAxis(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw ConfigError("", "--grid '" + text + "': expected key=value1,value2,...");
    GridAxis axis;
    axis.key = text.substr(0, eq);
    const auto& keys = configKeys();
    if (std::none_of(keys.begin(), keys.end(), [&](const ConfigKey& k) { return k.name == axis.key; }))
        throw ConfigError(axis.key, "--grid: unknown config key (srigl train --help lists them)");
    const std::string list = text.substr(eq + 1);
    const char sep = list.find('|') != std::string::npos ? '|' : ',';
    std::stringstream ss(list);
    std::string value;
    std::set<std::string> seen;
    while (std::getline(ss, value, sep)) {
        if (value.empty()) throw ConfigError(axis.key, "--grid: empty value in '" + list + "'");
        if (!seen.insert(value).second) throw ConfigError(axis.key, "--grid: value '" + value + "' given twice");
        axis.values.push_back(value);
    }
    if (axis.values.empty() || list.back() == sep) throw ConfigError(axis.key, "--grid: no values (key=value1,value2,...)");
    return axis;
}

namespace {

// trainable_threshold learns its sparsity instead of being given one, so a grid over sparsity
// would leave its points all alike. Where the grid sets sparsity and nothing sets the method's own
// target (tt_target_density on an axis or in the base), the point is steered to the density the
// other methods of the grid are given: the matched-density comparison the study needs.
void matchThresholdDensity(RunConfig& c, const std::set<std::string>& gridKeys, const RunConfig& base) {
    if (c.method != "trainable_threshold" || !gridKeys.count("sparsity") || gridKeys.count("tt_target_density") ||
        base.tt_target_density != 0.0)
        return;
    c.tt_target_density = 1.0 - c.sparsity;
}

} // namespace

std::vector<SweepPoint> expandGrid(const RunConfig& base, const std::vector<GridAxis>& axes) {
    if (axes.empty()) throw ConfigError("", "a sweep needs at least one --grid key=value1,value2,...");
    std::set<std::string> keys;
    size_t total = 1;
    for (const auto& a : axes) {
        if (!keys.insert(a.key).second) throw ConfigError(a.key, "--grid: the key is given in two grids");
        if (a.values.empty()) throw ConfigError(a.key, "--grid: no values");
        total *= a.values.size();
        if (total > 100000) throw ConfigError("", "--grid: more than 100,000 points");
    }
    std::vector<SweepPoint> out;
    std::vector<size_t> at(axes.size(), 0);
    for (size_t n = 0; n < total; ++n) {
        SweepPoint p;
        p.index = static_cast<int64_t>(n);
        p.config = base;
        for (size_t a = 0; a < axes.size(); ++a) p.assignment.emplace_back(axes[a].key, axes[a].values[at[a]]);
        try {
            for (const auto& [k, v] : p.assignment) applyOverride(p.config, k + "=" + v);
            matchThresholdDensity(p.config, keys, base);
            validateConfig(p.config);
            planRun(p.config); // model shapes: k >= 1 for every layer at this sparsity, etc.
        } catch (const ConfigError& e) {
            throw ConfigError("", "grid point " + std::to_string(n + 1) + " (" + p.label() + "): " + e.what());
        }
        out.push_back(std::move(p));
        // Odometer: the last axis varies fastest.
        for (size_t a = axes.size(); a-- > 0;) {
            if (++at[a] < axes[a].values.size()) break;
            at[a] = 0;
        }
    }
    return out;
}

std::string gridToJson(const std::vector<GridAxis>& axes) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& a : axes) arr.push_back({{"key", a.key}, {"values", a.values}});
    return arr.dump();
}

std::vector<GridAxis> gridFromJson(const std::string& json) {
    std::vector<GridAxis> out;
    const auto arr = nlohmann::json::parse(json, nullptr, false);
    if (!arr.is_array()) return out;
    for (const auto& a : arr) out.push_back({a.value("key", ""), a.value("values", std::vector<std::string>{})});
    return out;
}

} // namespace srigl::sessions
