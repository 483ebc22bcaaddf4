// `srigl runs`: list, show, tag, note, delete, export and diff recorded runs.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::cli {

struct RunsOptions {
    std::string db;
    bool json = false;
    std::string filter; // comma-separated key=value terms (status, method, tag) or free text
    std::string tag;
    std::vector<int64_t> ids;
    std::string text;
    std::string format = "csv";
    bool yes = false;
    bool timing = false; // print the store's query time to stderr
    std::string layer;   // runs render
    int64_t step = -1;   // runs render: -1 = the last snapshot
    std::string out;     // runs render: .png (one snapshot) or .mp4/.avi (all snapshots)
};

void addRunsCommand(CLI::App& app, RunsOptions& options);
// The subcommand that ran, e.g. "list"; exit code as for train (2: bad input).
int runRuns(const CLI::App& app, const RunsOptions& options);

} // namespace srigl::cli
