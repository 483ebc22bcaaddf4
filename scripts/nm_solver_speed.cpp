// Tiles per second of the transposable N:M solvers on a whole Gaussian layer (docs/results.md, N:M
// section). Built and run by scripts/nm_solver_speed.sh; not part of the CMake build because it
// only times engine/nm and would otherwise be one more executable for every build.
#include "engine/nm/transposable_mask.hpp"

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace srigl::nm;

// CPU seconds of the whole process: on a busy machine the wall clock mostly measures the others.
static double cpuSeconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int main(int argc, char** argv) {
    const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 3072, cols = argc > 2 ? std::atoll(argv[2]) : 768;
    const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
    torch::manual_seed(1);
    const auto weight = torch::randn({rows, cols});
    struct Case {
        const char* name;
        NmPattern pattern;
        TransposableSolver solver;
    };
    const std::vector<Case> cases = {
        {"4:8 exact (min-cost flow)", {4, 8}, TransposableSolver::Exact},
        {"4:8 greedy", {4, 8}, TransposableSolver::Greedy},
        {"4:8 greedy + repair", {4, 8}, TransposableSolver::GreedyRepair},
        {"2:4 exact (90 patterns)", {2, 4}, TransposableSolver::Exact},
        {"2:4 greedy + repair", {2, 4}, TransposableSolver::GreedyRepair},
    };
    std::printf("| solver (%lld x %lld) | tiles | tiles/s, 1 thread | tiles/s, 2 threads | tiles per CPU second, 1 thread |\n"
                "|---|---|---|---|---|\n",
                static_cast<long long>(rows), static_cast<long long>(cols));
    for (const Case& c : cases) {
        double best[2] = {0, 0}, bestCpu = 0;
        int64_t tiles = 0;
        for (int threads = 1; threads <= 2; ++threads)
            for (int r = 0; r < repeats; ++r) {
                TransposableOptions o;
                o.solver = c.solver;
                o.threads = threads;
                const double cpu0 = cpuSeconds();
                const auto result = transposableMask(weight, c.pattern, o);
                const double cpu = cpuSeconds() - cpu0;
                tiles = result.stats.tiles;
                if (threads == 1) bestCpu = std::max(bestCpu, static_cast<double>(tiles) / cpu);
                best[threads - 1] = std::max(best[threads - 1], static_cast<double>(tiles) / result.stats.seconds);
            }
        std::printf("| %s | %lld | %.0f | %.0f | %.0f |\n", c.name, static_cast<long long>(tiles), best[0], best[1], bestCpu);
    }
    return 0;
}
