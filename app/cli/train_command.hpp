// `srigl train`: runs one training job from a config file and --set overrides.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::cli {

struct TrainOptions {
    std::string configFile;
    std::vector<std::string> overrides;
    std::string resume;
    bool json = false;
    bool quiet = false;
    std::string db;   // empty: the default database
    bool noDb = false;
    // Data-parallel worker (docs/distributed.md): rendezvous from RANK, WORLD_SIZE, MASTER_ADDR,
    // MASTER_PORT; collectives give up after timeoutSeconds.
    bool distributed = false;
    double timeoutSeconds = 300.0;
    double bucketMegabytes = 1.0; // gradient all-reduce message size
    bool noOverlap = false;       // all-reduce only after backward (to measure what overlap gains)
};

void addTrainCommand(CLI::App& app, TrainOptions& options);
// Returns the process exit code: 0 done, 2 bad config or input, 3 diverged, 130 interrupted.
int runTrain(const TrainOptions& options);

} // namespace srigl::cli
