// `srigl sweep`: trains a grid of configs (e.g. methods x sparsities x seeds) one run after
// another, each recorded, with overall progress; `--resume SWEEP_ID` finishes an interrupted one.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::cli {

struct SweepOptions {
    std::string configFile;
    std::vector<std::string> overrides;
    std::vector<std::string> grids; // key=v1,v2,...
    int64_t resume = 0;             // sweep id
    std::string db;
    std::string name;
    bool json = false;
    bool quiet = false;
};

void addSweepCommand(CLI::App& app, SweepOptions& options);
// 0 every point trained (some may have failed: see the summary), 2 bad grid/config/input (nothing
// stored), 130 interrupted (resume with --resume).
int runSweep(const SweepOptions& options);

} // namespace srigl::cli
