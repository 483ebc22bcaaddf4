// `srigl launch --nproc N -- srigl train --distributed ...`: starts N local workers of a
// data-parallel run (like torchrun), forwards their output and makes sure none outlives a failure.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::cli {

struct LaunchOptions {
    int nproc = 2;
    std::string masterAddr = "127.0.0.1";
    int masterPort = 0;     // 0: a free port
    bool quietWorkers = false; // drop the stdout of ranks >= 1 (their stderr is always forwarded)
    double graceSeconds = 10.0; // after a failure: how long the others get to exit before SIGKILL
    std::vector<std::string> command;
};

void addLaunchCommand(CLI::App& app, LaunchOptions& options);
// 0 when every worker exited with 0; else the exit code of the first worker that failed (1 when it
// was killed by a signal), after stopping the others. 2 for bad arguments.
int runLaunch(const LaunchOptions& options);

} // namespace srigl::cli
