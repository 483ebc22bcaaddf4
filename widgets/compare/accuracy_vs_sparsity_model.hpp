// The paper's figure from your own runs: final test accuracy against sparsity, one line per
// method, from every finished run of the database. Runs at the same (method, sparsity) - e.g.
// several seeds - become one point with their mean, min and max.
#pragma once

#include "sessions/store/run_store.hpp"

#include <map>
#include <string>
#include <vector>

namespace srigl::studio {

struct AccuracyPoint {
    double sparsity = 0.0;
    double mean = 0.0, min = 0.0, max = 0.0; // test accuracy
    int runs = 0;
};

struct AccuracyVsSparsity {
    std::map<std::string, std::vector<AccuracyPoint>> methods; // points sorted by sparsity
    std::vector<std::string> models;                          // "model / dataset" seen, for the filter
};

// Only finished runs with a known test accuracy count. modelFilter: "model / dataset" to keep, or
// empty for all. Sparsities within 1e-9 are the same point.
AccuracyVsSparsity accuracyVsSparsity(const std::vector<sessions::RunInfo>& runs, const std::string& modelFilter = "");

std::string modelLabel(const sessions::RunInfo& run); // "mlp / synthetic"

} // namespace srigl::studio
