// Training overhead of a method against dense, in one process: a dense Trainer and the method's
// Trainer (same model, data and seed) take steps alternately, each step timed in thread CPU time.
// Separate runs cannot resolve a few percent on these virtual machines (their speed drifts by tens
// of percent from minute to minute); steps a few milliseconds apart see the same speed. The ratio is
// taken per window of `every` steps (one mask update each) and the median window is reported.
// Built and run by scripts/nm_overhead_interleaved.sh.
#include "engine/config/run_config.hpp"
#include "engine/training/trainer.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

double threadCpuSeconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double timedStep(srigl::Trainer& t) {
    const double start = threadCpuSeconds();
    if (!t.trainStep()) throw std::runtime_error("a run stopped early: " + std::to_string(t.step()));
    return threadCpuSeconds() - start;
}

} // namespace

// argv: steps, update interval, then key=value overrides for the method (e.g. method=nm_transposable nm=4:8).
int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s STEPS EVERY key=value...\n", argv[0]);
        return 2;
    }
    const int steps = std::stoi(argv[1]), every = std::stoi(argv[2]);
    srigl::RunConfig base;
    for (const char* kv : {"model=mlp", "batch_size=128", "threads=1", "eval_every=1000000", "seed=1"})
        srigl::applyOverride(base, kv);
    srigl::applyOverride(base, "max_steps=" + std::to_string(steps + every));
    srigl::applyOverride(base, "nm_update_every=" + std::to_string(every));
    srigl::RunConfig method = base;
    for (int i = 3; i < argc; ++i) {
        srigl::applyOverride(method, argv[i]);
        if (std::string(argv[i]).rfind("dataset=", 0) == 0 || std::string(argv[i]).rfind("data_dir=", 0) == 0)
            srigl::applyOverride(base, argv[i]);
    }
    srigl::applyOverride(base, "method=dense");
    srigl::Trainer dense(base), other(method);
    for (int s = 0; s < every; ++s) { // warm-up window, not counted (first allocations, first mask)
        timedStep(dense);
        timedStep(other);
    }
    std::vector<double> ratios;
    double denseTotal = 0, otherTotal = 0;
    for (int w = 0; w < steps / every; ++w) {
        double d = 0, o = 0;
        for (int s = 0; s < every; ++s) {
            // Alternate which goes first, so neither always runs on caches the other just filled.
            if (s % 2 == 0) {
                d += timedStep(dense);
                o += timedStep(other);
            } else {
                o += timedStep(other);
                d += timedStep(dense);
            }
        }
        ratios.push_back(o / d - 1);
        denseTotal += d;
        otherTotal += o;
    }
    std::sort(ratios.begin(), ratios.end());
    const size_t n = ratios.size();
    std::printf("%.3f %.3f %+.1f%% %+.1f%% %+.1f%% %+.1f%% %zu\n", 1000 * denseTotal / (n * every),
                1000 * otherTotal / (n * every), 100 * ratios[n / 2], 100 * ratios[n / 4], 100 * ratios[(3 * n) / 4],
                100 * (otherTotal / denseTotal - 1), n);
    return 0;
}
