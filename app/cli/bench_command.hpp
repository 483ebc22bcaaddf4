// `srigl bench`: condensed versus dense, CSR and structured, on a synthetic constant fan-in layer
// or on the layers (and whole model) of a recorded run; results printed and stored as timings.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::cli {

struct BenchOptions {
    int64_t in = 3072;
    int64_t out = 768;
    std::vector<double> sparsities{0.8, 0.9, 0.95, 0.99};
    std::vector<int64_t> batches{1, 8, 32, 256};
    std::string device = "cpu";
    int threads = 0;
    double ablated = 0.0;
    double seconds = 0.25;
    std::string isa = "auto";
    int64_t run = 0;
    uint64_t seed = 1;
    bool json = false;
    bool quiet = false;
    std::string db;
    bool noDb = false;
};

void addBenchCommand(CLI::App& app, BenchOptions& options);
// Exit code: 0 done, 2 bad input (or a variant that disagrees with dense), 130 interrupted.
int runBench(const BenchOptions& options);

} // namespace srigl::cli
