// `srigl bench`: condensed versus dense, CSR and structured, on a synthetic constant fan-in layer
// or on the layers (and whole model) of a recorded run; results printed and stored as timings.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::kernels {
enum class Isa; // engine/kernels/condensed_kernels.hpp
}

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
    // --training: time SGD training steps (dense, masked dense, condensed) instead of inference.
    bool training = false;
    std::string model;            // with --training: also time whole steps of this model (mlp, lenet5, resnet18)
    std::string hidden = "300,100";
    std::string dataDir;          // with --model resnet18 / wrn22_2: the CIFAR-10 binary files
    int steps = 30;               // timed steps per variant (after warm-up)
    int64_t deltaT = 10;          // steps between mask updates in the model bench (update steps timed apart)
    // --conv C,H,K,P[,S] with --training: a Conv2d (C channels of H x H, K x K kernel, padding P, stride
    // S, 1 when left out; --out filters) in place of the linear layer.
    std::vector<int64_t> conv;
};

void addBenchCommand(CLI::App& app, BenchOptions& options);
// Exit code: 0 done, 2 bad input (or a variant that disagrees with dense), 130 interrupted.
int runBench(const BenchOptions& options);
// bench --training (bench_training.cpp); same exit codes.
int runTrainingBench(const BenchOptions& options);

// Shared by both benches' tables.
std::string formatMicroseconds(double us);
std::string formatRatio(double ratio);
// --isa: auto, portable, avx2 or avx512 (throws InferenceError for one this CPU cannot run).
kernels::Isa parseIsaOption(const std::string& name);

} // namespace srigl::cli
