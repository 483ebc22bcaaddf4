// Layer-level driver: cuts the layer into tiles, pads edge tiles, runs the chosen tile solver in
// chunks on the worker pool (engine/runtime/worker_pool.hpp).
#include "engine/nm/transposable_mask.hpp"

#include "engine/nm/nm_layout.hpp"
#include "engine/nm/tile_exhaustive.hpp"
#include "engine/nm/tile_greedy.hpp"
#include "engine/nm/tile_min_cost_flow.hpp"
#include "engine/nm/tile_repair.hpp"
#include "engine/runtime/worker_pool.hpp"

#include <algorithm>
#include <array>
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

// Splits [0, count) into contiguous chunks, one per thread, run on the worker pool. The chunks depend
// on `threads` alone, so each chunk's statistics (double sums) are grouped the same way every time.
template <class Work>
void runChunks(int64_t count, int threads, Work work) {
    const int64_t chunk = (count + threads - 1) / threads;
    parallelFor(
        0, threads, 1,
        [&](int64_t k0, int64_t k1) {
            for (int64_t k = k0; k < k1; ++k)
                work(static_cast<int>(k), std::min(count, k * chunk), std::min(count, (k + 1) * chunk));
        },
        threads);
}

double solveExact(const float* value, int m, int n, uint8_t* keep, bool preferFlow) {
    if (m == 4 && !preferFlow) return solveTileExhaustive4(value, n, keep);
    return solveTileMinCostFlow(value, m, n, keep);
}

// Whether an edge tile whose real part (realRows x realCols) keeps rowCount/colCount entries can
// be completed to N per row and column by keeping padding entries only. A bipartite max-flow with
// unit edges: row r still needs N - rowCount[r], column c N - colCount[c], and (r, c) may be added
// when it is padding (real entries the mask does not keep stay out). Rows' used columns are bit
// masks; augmenting paths by breadth-first search.
bool completableWithPadding(const std::array<int, 64>& rowCount, const std::array<int, 64>& colCount, int realRows,
                            int realCols, int m, int n) {
    const uint64_t all = m == 64 ? ~0ull : (1ull << m) - 1;
    const uint64_t padCols = realCols >= 64 ? 0 : all & ~((1ull << realCols) - 1);
    std::array<uint64_t, 64> allowed{}, used{};
    std::array<int, 64> rowNeed{}, colNeed{};
    int total = 0;
    for (int i = 0; i < m; ++i) {
        allowed[i] = i < realRows ? padCols : all;
        rowNeed[i] = n - rowCount[i];
        colNeed[i] = n - colCount[i];
        total += rowNeed[i];
    }
    int colTotal = 0;
    for (int i = 0; i < m; ++i) colTotal += colNeed[i];
    if (colTotal != total) return false;
    int flow = 0;
    // Greedy start, then augmenting paths row -> (unused edge) col -> (used edge) row -> ... -> col.
    for (int r = 0; r < m; ++r)
        for (uint64_t free = allowed[r]; free && rowNeed[r] > 0; free &= free - 1) {
            const int c = __builtin_ctzll(free);
            if (colNeed[c] == 0) continue;
            used[r] |= 1ull << c;
            --rowNeed[r];
            --colNeed[c];
            ++flow;
        }
    std::array<int, 64> colFrom{}, rowFrom{}, queue{};
    while (flow < total) {
        uint64_t seenRows = 0, seenCols = 0;
        int head = 0, tail = 0, target = -1;
        for (int r = 0; r < m; ++r)
            if (rowNeed[r] > 0) {
                seenRows |= 1ull << r;
                rowFrom[r] = -1;
                queue[tail++] = r;
            }
        while (head < tail && target < 0) {
            const int r = queue[head++];
            for (uint64_t next = allowed[r] & ~used[r] & ~seenCols; next && target < 0; next &= next - 1) {
                const int c = __builtin_ctzll(next);
                seenCols |= 1ull << c;
                colFrom[c] = r;
                if (colNeed[c] > 0) {
                    target = c;
                    break;
                }
                for (int r2 = 0; r2 < m; ++r2)
                    if ((used[r2] >> c & 1) && !(seenRows >> r2 & 1)) {
                        seenRows |= 1ull << r2;
                        rowFrom[r2] = c;
                        queue[tail++] = r2;
                    }
            }
        }
        if (target < 0) return false;
        --colNeed[target];
        for (int c = target;;) {
            const int r = colFrom[c];
            used[r] |= 1ull << c;
            if (rowFrom[r] < 0) {
                --rowNeed[r];
                break;
            }
            c = rowFrom[r];
            used[r] &= ~(1ull << c);
        }
        ++flow;
    }
    return true;
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
                // Column sums first: independent lanes instead of one long chain of float adds.
                std::array<float, 64> column{};
                for (int r = 0; r < v.realRows; ++r)
                    for (int c = 0; c < v.realCols; ++c) column[c] += value[r * m + c] * static_cast<float>(k[r * m + c]);
                double sum = 0;
                for (int c = 0; c < v.realCols; ++c) sum += column[c];
                return sum;
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
    auto planes = toPlanes(mask.to(torch::kCPU, torch::kBool)).contiguous();
    const TileGrid g = gridFor(planes, p.m);
    const bool* k = planes.data_ptr<bool>();
    const int m = p.m, n = p.n;
    std::array<int, 64> rowCount, colCount;
    for (int64_t t = 0; t < g.tiles(); ++t) {
        const TileView v = tileAt(g, t);
        rowCount.fill(0);
        colCount.fill(0);
        for (int r = 0; r < v.realRows; ++r)
            for (int c = 0; c < v.realCols; ++c) {
                const int kept = k[v.offset + r * g.cols + c] ? 1 : 0;
                rowCount[r] += kept;
                colCount[c] += kept;
            }
        const bool isPartial = v.realRows < m || v.realCols < m;
        for (int i = 0; i < m; ++i)
            if (rowCount[i] > n || colCount[i] > n || (!isPartial && (rowCount[i] != n || colCount[i] != n))) return false;
        if (isPartial && !completableWithPadding(rowCount, colCount, v.realRows, v.realCols, m, n)) return false;
    }
    return true;
}

} // namespace srigl::nm
