// Network (shared/spec/nm.md): source -> row (cap N), row -> col (cap 1, cost -v), col -> sink
// (cap N); N*M units. Every path carries one unit (row -> col caps are 1), so the flow is the 0/1
// keep matrix itself and the residual graph is read off it instead of being stored as edges.
#include "engine/nm/tile_min_cost_flow.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

namespace srigl::nm {

double solveTileMinCostFlow(const float* value, int m, int n, uint8_t* keep) {
    if (m < 1 || n < 0 || n > m) throw std::invalid_argument("solveTileMinCostFlow: need 0 <= N <= M");
    const int mm = m * m;
    // Nodes: 0 = source, 1..m rows, m+1..2m columns, 2m+1 = sink.
    const int V = 2 * m + 2, S = 0, T = 2 * m + 1;
    thread_local std::vector<double> cost, pot, dist;
    thread_local std::vector<int> parent, rowCount, colCount;
    thread_local std::vector<char> done;
    cost.resize(mm);
    pot.assign(V, 0.0);
    dist.resize(V);
    parent.resize(V);
    done.resize(V);
    rowCount.assign(m, 0);
    colCount.assign(m, 0);
    std::fill(keep, keep + mm, uint8_t{0});

    // Costs shifted to be >= 0 (max - v): every solution keeps exactly N*M entries, so the shift
    // changes all totals by the same amount, and zero initial potentials are feasible.
    double top = -std::numeric_limits<double>::infinity();
    for (int i = 0; i < mm; ++i) top = std::max(top, static_cast<double>(value[i]));
    for (int i = 0; i < mm; ++i) cost[i] = top - static_cast<double>(value[i]);

    const double inf = std::numeric_limits<double>::infinity();
    for (int unit = 0; unit < n * m; ++unit) {
        std::fill(dist.begin(), dist.end(), inf);
        std::fill(done.begin(), done.end(), char{0});
        dist[S] = 0;
        parent[S] = -1;
        // Dense Dijkstra (V is tiny) over the residual graph in reduced costs. Edges into the source
        // and out of the sink are left out: a shortest simple source -> sink path never uses them.
        for (;;) {
            int u = -1;
            for (int v = 0; v < V; ++v)
                if (!done[v] && dist[v] < inf && (u < 0 || dist[v] < dist[u])) u = v;
            if (u < 0 || u == T) break;
            done[u] = 1;
            auto relax = [&](int v, double c) {
                // Settled nodes stay settled: rounding can make a reduced cost a hair below 0, and
                // re-parenting a settled node could close a cycle in the parent chain.
                if (done[v]) return;
                const double d = dist[u] + c + pot[u] - pot[v];
                if (d < dist[v]) {
                    dist[v] = d;
                    parent[v] = u;
                }
            };
            if (u == S) {
                for (int r = 0; r < m; ++r)
                    if (rowCount[r] < n) relax(1 + r, 0.0);
            } else if (u <= m) {
                const int r = u - 1;
                for (int c = 0; c < m; ++c)
                    if (!keep[r * m + c]) relax(1 + m + c, cost[r * m + c]);
            } else {
                const int c = u - 1 - m;
                for (int r = 0; r < m; ++r)
                    if (keep[r * m + c]) relax(1 + r, -cost[r * m + c]);
                if (colCount[c] < n) relax(T, 0.0);
            }
        }
        if (dist[T] == inf) throw std::logic_error("solveTileMinCostFlow: no augmenting path");
        // Potentials capped at dist[T] keep every reduced cost >= 0, also for nodes not reached.
        for (int v = 0; v < V; ++v) pot[v] += std::min(dist[v], dist[T]);
        for (int v = T; parent[v] >= 0; v = parent[v]) {
            const int u = parent[v];
            if (u == S) ++rowCount[v - 1];
            else if (v == T) ++colCount[u - 1 - m];
            else if (u <= m) keep[(u - 1) * m + (v - 1 - m)] = 1;  // row -> col: keep
            else keep[(v - 1) * m + (u - 1 - m)] = 0;               // col -> row: release
        }
    }
    double kept = 0;
    for (int i = 0; i < mm; ++i)
        if (keep[i]) kept += value[i];
    return kept;
}

} // namespace srigl::nm
