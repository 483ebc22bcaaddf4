// A sweep's grid: `--grid key=v1,v2` axes expanded into one validated RunConfig per point (the
// last axis varies fastest), so that every bad key or value is reported before anything runs.
#pragma once

#include "engine/config/run_config.hpp"

#include <string>
#include <utility>
#include <vector>

namespace srigl::sessions {

struct GridAxis {
    std::string key;
    std::vector<std::string> values;
};

struct SweepPoint {
    int64_t index = 0;
    std::vector<std::pair<std::string, std::string>> assignment; // key, value per axis
    RunConfig config;
    std::string label() const; // "method=srigl sparsity=0.9"
};

// "key=v1,v2,..." (or "key=v1|v2" when values contain commas, e.g. hidden=300,100|500,300).
// Throws ConfigError on an unknown key, no values or a repeated value.
GridAxis parseGridAxis(const std::string& text);

// Every combination of the axes applied to base, each validated as `srigl train` would before it
// loads data (values, ranges, model shapes); throws ConfigError naming the point and key. Keys may
// not repeat across axes. A trainable_threshold point of a grid over sparsity gets
// tt_target_density = 1 - sparsity (matched density) unless the grid or the base sets that key.
std::vector<SweepPoint> expandGrid(const RunConfig& base, const std::vector<GridAxis>& axes);

// The grid as JSON (an array of {"key", "values"}) for the store, and back.
std::string gridToJson(const std::vector<GridAxis>& axes);
std::vector<GridAxis> gridFromJson(const std::string& json);

} // namespace srigl::sessions
