// `srigl analyze`: structure analyses that need no training: output-norm variance at
// initialisation per mask structure, and mask diversity of a model's layers per structure.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::cli {

struct AnalyzeOptions {
    // init-variance
    int64_t in = 300, out = 100;
    double sparsity = 0.9;
    std::string nm; // "" : derived from the sparsity
    int samples = 1000;
    uint64_t seed = 1;
    // diversity
    std::string configFile;
    std::vector<std::string> overrides;
    std::string diversityNm = "2:4";
    bool json = false;
};

void addAnalyzeCommand(CLI::App& app, AnalyzeOptions& options);
int runAnalyze(const CLI::App& app, const AnalyzeOptions& options);

} // namespace srigl::cli
