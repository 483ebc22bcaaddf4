// `srigl runs`: list, show, tag, note, delete, export, diff and render recorded runs; list sweeps.
// Needs only the store (no Torch): the light `srigl` front end runs it itself.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::sessions {
class RunStore;
}

namespace srigl::cli {

struct RunsOptions {
    std::string db;
    bool json = false;
    std::string filter; // comma-separated key=value terms (status, method, tag) or free text
    std::string tag;
    int64_t sweep = 0; // runs list --sweep ID
    std::vector<int64_t> ids;
    std::string text;
    std::string format = "csv";
    bool yes = false;
    bool force = false;  // runs release: even a run heard from recently
    std::string source;  // runs merge: the database the runs come from
    bool timing = false; // print the store's query time to stderr
    std::string layer;   // runs render
    int64_t step = -1;   // runs render: -1 = the last snapshot
    std::string out;     // runs render: .png (one snapshot) or .mp4/.avi (all snapshots)
    std::string what = "mask";                  // runs render: mask or weights
    std::string colormap = "twilight_shifted"; // runs render --what weights
};

void addRunsCommand(CLI::App& app, RunsOptions& options);
// `runs render` draws with OpenCV, which the light front end does not load (it hands `runs render`
// to srigl-engine): srigl-engine passes renderRun (runs_render.hpp), the front end nothing.
using RenderRunFn = int (*)(sessions::RunStore& store, const RunsOptions& options);
// Runs the subcommand that was parsed, e.g. "list"; exit code as for train (2: bad input).
int runRuns(const CLI::App& app, const RunsOptions& options, RenderRunFn render = nullptr);

// The exit code for a command line CLI11 refused, after saying why: 0 for --help and --version,
// else 2. A word where a command belongs that names none gets "srigl: unknown command 'x'" and the
// real commands (CLI11 alone says only that a subcommand is required); no command at all gets the
// help. Here because both executables (srigl and srigl-engine) link this file and nothing lighter.
int exitOnParseError(CLI::App& app, const CLI::ParseError& error);

} // namespace srigl::cli
