// `srigl convert RUN_ID --nm N:M [--transposable]`: a trained run's model converted to N:M without
// training, recorded as a new run with its accuracy after every stage.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::cli {

struct ConvertOptions {
    std::string run;
    std::string nm;
    bool transposable = false;
    bool greedy = false;
    std::string db;
    bool json = false;
    int64_t calibrationBatches = 8;
    int64_t batchSize = 0; // 0: the run's batch size
    bool noAbsorb = false;
    bool noReconstruct = false;
    bool noBn = false;
    std::vector<std::string> skip;
    double damping = 1e-4;
    int64_t maxDirect = 1536; // rows keeping more inputs are refit by conjugate gradient (a dense solve is k^3 per row)
    int64_t refitIterations = 50; // conjugate gradient: iteration cap
    double refitTolerance = 1e-6; // conjugate gradient: relative residual
    std::string dataDir; // "": the run's data_dir
    int threads = 0;
    std::string name;
};

void addConvertCommand(CLI::App& app, ConvertOptions& options);
int runConvert(const ConvertOptions& options);

} // namespace srigl::cli
