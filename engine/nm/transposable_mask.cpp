// Layer-level driver: cuts the layer into tiles, pads edge tiles, runs the chosen tile solver on
// std::thread chunks (the engine is built without OpenMP, so at::parallel_for would be serial).
#include "engine/nm/transposable_mask.hpp"

#include "engine/nm/nm_layout.hpp"
#include "engine/nm/tile_exhaustive.hpp"
#include "engine/nm/tile_greedy.hpp"
#include "engine/nm/tile_min_cost_flow.hpp"
#include "engine/nm/tile_repair.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

namespace srigl::nm {

namespace {

struct TileGrid {
    int64_t planes = 0, rows = 0, cols = 0, tileRows = 0, tileCols = 0;
    int m = 0;
    int64_t tiles() const { return planes * tileRows * tileCols; }
};

// One tile's place in the [planes, rows, cols] buffer and how much of it is real.
struct TileView {
    int64_t offset = 0; // of the tile's top-left entry
    int realRows = 0, realCols = 0;
};

TileView tileAt(const TileGrid& g, int64_t t) {
    const int64_t perPlane = g.tileRows * g.tileCols;
    const int64_t p = t / perPlane, i = (t % perPlane) / g.tileCols, j = t % g.tileCols;
    TileView v;
    v.offset = (p * g.rows + i * g.m) * g.cols + j * g.m;
    v.realRows = static_cast<int>(std::min<int64_t>(g.m, g.rows - i * g.m));
    v.realCols = static_cast<int>(std::min<int64_t>(g.m, g.cols - j * g.m));
    return v;
}

TileGrid gridFor(const torch::Tensor& planes, int m) {
    TileGrid g;
    g.planes = planes.size(0);
    g.rows = planes.size(1);
    g.cols = planes.size(2);
    g.m = m;
    g.tileRows = (g.rows + m - 1) / m;
    g.tileCols = (g.cols + m - 1) / m;
    return g;
}

void checkPattern(NmPattern p) {
    if (p.m < 2 || p.m > 64 || p.n < 1 || p.n >= p.m)
        throw std::invalid_argument("transposable N:M needs 1 <= N < M <= 64, got " + p.toString());
}

// How many threads to use for `count` tiles: below a few hundred tiles, starting threads costs more
// than it saves.
int chunkThreads(int64_t count, int requested) {
    if (requested <= 0) requested = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return static_cast<int>(std::clamp<int64_t>(count / 256, 1, requested));
}

// Splits [0, count) into contiguous chunks, one per thread; the calling thread takes the first.
template <class Work>
void runChunks(int64_t count, int threads, Work work) {
    std::vector<std::thread> pool;
    const int64_t chunk = (count + threads - 1) / threads;
    for (int k = 1; k < threads; ++k)
        pool.emplace_back(work, k, std::min(count, k * chunk), std::min(count, (k + 1) * chunk));
    work(0, int64_t{0}, std::min(count, chunk));
    for (auto& t : pool) t.join();
}

double solveExact(const float* value, int m, int n, uint8_t* keep, bool preferFlow) {
    if (m == 4 && !preferFlow) return solveTileExhaustive4(value, n, keep);
    return solveTileMinCostFlow(value, m, n, keep);
}

} // namespace

TransposableResult transposableMask(const torch::Tensor& weight, NmPattern p, const TransposableOptions& options) {
    checkPattern(p);
    const auto start = std::chrono::steady_clock::now();
    torch::NoGradGuard noGrad;
    // |w| is taken while a tile is gathered: no |W| copy of the layer.
    auto planes = toPlanes(weight.detach().to(torch::kCPU, torch::kFloat)).contiguous();
    const TileGrid g = gridFor(planes, p.m);
    // Every real entry belongs to exactly one tile, which writes it: no clearing needed.
    auto maskPlanes = torch::empty(planes.sizes(), torch::TensorOptions().dtype(torch::kBool));
    bool* out = maskPlanes.data_ptr<bool>();
    const float* w = planes.data_ptr<float>();
    const int m = p.m, n = p.n, mm = m * m;

    const int threads = chunkThreads(g.tiles(), options.threads);
    std::vector<TransposableStats> partial(static_cast<size_t>(threads));
    auto work = [&](int chunkIndex, int64_t begin, int64_t end) {
        TransposableStats& st = partial[static_cast<size_t>(chunkIndex)];
        std::vector<float> value(static_cast<size_t>(mm));
        std::vector<uint8_t> keep(static_cast<size_t>(mm)), best(static_cast<size_t>(mm));
        for (int64_t t = begin; t < end; ++t) {
            const TileView v = tileAt(g, t);
            const bool isPartial = v.realRows < m || v.realCols < m;
            if (!isPartial) {
                for (int r = 0; r < m; ++r)
                    for (int c = 0; c < m; ++c) value[r * m + c] = std::fabs(w[v.offset + r * g.cols + c]);
            } else {
                // Padding ranks below every real weight: exact solvers first minimise the pads kept,
                // then maximise the real mass; the greedy reaches pads last.
                double realSum = 0;
                for (int r = 0; r < v.realRows; ++r)
                    for (int c = 0; c < v.realCols; ++c) realSum += std::fabs(w[v.offset + r * g.cols + c]);
                const float pad = static_cast<float>(-(1.0 + 2.0 * realSum));
                for (int r = 0; r < m; ++r)
                    for (int c = 0; c < m; ++c)
                        value[r * m + c] = r < v.realRows && c < v.realCols ? std::fabs(w[v.offset + r * g.cols + c]) : pad;
            }

            switch (options.solver) {
            case TransposableSolver::Exact:
            case TransposableSolver::MinCostFlow:
                solveExact(value.data(), m, n, keep.data(), options.solver == TransposableSolver::MinCostFlow);
                break;
            case TransposableSolver::Greedy:
            case TransposableSolver::GreedyRepair: {
                const int kept = solveTileGreedy(value.data(), m, n, keep.data());
                if (kept < n * m) {
                    ++st.underfilledTiles;
                    st.missingEntries += n * m - kept;
                    if (options.solver == TransposableSolver::GreedyRepair) repairTile(value.data(), m, n, keep.data());
                }
                break;
            }
            }
            auto realKept = [&](const std::vector<uint8_t>& k) {
                float sum = 0; // one tile's few dozen values: float is enough here, double for the layer
                for (int r = 0; r < v.realRows; ++r)
                    for (int c = 0; c < v.realCols; ++c) sum += k[r * m + c] ? value[r * m + c] : 0.0f;
                return static_cast<double>(sum);
            };
            st.keptMass += realKept(keep);
            if (options.compareWithOptimum) {
                solveExact(value.data(), m, n, best.data(), false);
                st.optimalMass += realKept(best);
            }
            st.partialTiles += isPartial;
            ++st.tiles;
            for (int r = 0; r < v.realRows; ++r)
                for (int c = 0; c < v.realCols; ++c) out[v.offset + r * g.cols + c] = keep[r * m + c] != 0;
        }
    };
    for (auto& s : partial) s.optimalMass = 0;
    runChunks(g.tiles(), threads, work);

    TransposableResult result;
    TransposableStats& total = result.stats;
    total.optimalMass = 0;
    for (int k = 0; k < threads; ++k) {
        const auto& s = partial[static_cast<size_t>(k)];
        total.tiles += s.tiles;
        total.partialTiles += s.partialTiles;
        total.underfilledTiles += s.underfilledTiles;
        total.missingEntries += s.missingEntries;
        total.keptMass += s.keptMass;
        total.optimalMass += s.optimalMass;
    }
    const bool exact = options.solver == TransposableSolver::Exact || options.solver == TransposableSolver::MinCostFlow;
    if (exact) total.optimalMass = total.keptMass;
    else if (!options.compareWithOptimum) total.optimalMass = -1;
    total.threads = threads;

    result.mask = fromPlanes(maskPlanes, weight.sizes()).to(weight.device());
    total.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

bool transposableValid(const torch::Tensor& mask, NmPattern p) {
    checkPattern(p);
    auto planes = toPlanes(mask.to(torch::kCPU, torch::kBool)).to(torch::kUInt8).contiguous();
    const TileGrid g = gridFor(planes, p.m);
    const uint8_t* k = planes.data_ptr<uint8_t>();
    const int m = p.m, n = p.n;
    std::vector<int> rowCount(m), colCount(m);
    std::vector<float> value(static_cast<size_t>(m * m));
    std::vector<uint8_t> keep(static_cast<size_t>(m * m));
    for (int64_t t = 0; t < g.tiles(); ++t) {
        const TileView v = tileAt(g, t);
        std::fill(rowCount.begin(), rowCount.end(), 0);
        std::fill(colCount.begin(), colCount.end(), 0);
        int kept = 0;
        for (int r = 0; r < v.realRows; ++r)
            for (int c = 0; c < v.realCols; ++c)
                if (k[v.offset + r * g.cols + c]) {
                    ++rowCount[r];
                    ++colCount[c];
                    ++kept;
                }
        const bool isPartial = v.realRows < m || v.realCols < m;
        for (int i = 0; i < m; ++i)
            if (rowCount[i] > n || colCount[i] > n || (!isPartial && (rowCount[i] != n || colCount[i] != n))) return false;
        if (!isPartial) continue;
        // Edge tile: can padding complete it? Best padded tile with kept = 1, pads = 0 and the real
        // entries not kept forbidden reaches `kept` exactly when a completion exists.
        for (int r = 0; r < m; ++r)
            for (int c = 0; c < m; ++c)
                value[r * m + c] = r < v.realRows && c < v.realCols ? (k[v.offset + r * g.cols + c] ? 1.0f : -1.0e6f) : 0.0f;
        if (solveExact(value.data(), m, n, keep.data(), false) < kept - 0.5) return false;
    }
    return true;
}

} // namespace srigl::nm
