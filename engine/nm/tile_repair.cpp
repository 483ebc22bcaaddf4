// An augmenting path runs from a short row to a short column, alternating an unkept entry (added)
// and a kept entry (released): row -> col -> row -> ... -> col. Each path adds exactly one kept
// entry and fixes one row and one column deficit; the complete bipartite graph always has an N-regular
// sub-graph, so a path exists until the tile is full (max-flow theorem). After the greedy, a short row
// and a short column always meet at a kept entry (the greedy would have taken it), so paths have at
// least three edges.
#include "engine/nm/tile_repair.hpp"

#include <limits>
#include <stdexcept>
#include <vector>

namespace srigl::nm {

int repairTile(const float* value, int m, int n, uint8_t* keep) {
    thread_local std::vector<int> rowCount, colCount, rowLayer, colLayer, rowFrom, colFrom, frontier, nextFrontier;
    thread_local std::vector<double> rowGain, colGain;
    rowCount.assign(m, 0);
    colCount.assign(m, 0);
    int kept = 0;
    for (int r = 0; r < m; ++r)
        for (int c = 0; c < m; ++c)
            if (keep[r * m + c]) {
                ++rowCount[r];
                ++colCount[c];
                ++kept;
            }
    for (int i = 0; i < m; ++i)
        if (rowCount[i] > n || colCount[i] > n) throw std::invalid_argument("repairTile: a row or column keeps more than N");

    const double none = -std::numeric_limits<double>::infinity();
    int added = 0;
    while (kept < n * m) {
        // Breadth-first layers from all short rows; within the layered graph (a DAG) keep for each
        // node the best value gain of any shortest path reaching it.
        rowLayer.assign(m, -1);
        colLayer.assign(m, -1);
        rowGain.assign(m, none);
        colGain.assign(m, none);
        rowFrom.assign(m, -1);
        colFrom.assign(m, -1);
        frontier.clear();
        for (int r = 0; r < m; ++r)
            if (rowCount[r] < n) {
                rowLayer[r] = 0;
                rowGain[r] = 0;
                frontier.push_back(r);
            }
        int target = -1;
        for (int layer = 0; !frontier.empty() && target < 0; ++layer) {
            // Rows of this layer -> columns through unkept entries.
            nextFrontier.clear();
            for (int r : frontier)
                for (int c = 0; c < m; ++c) {
                    if (keep[r * m + c] || (colLayer[c] >= 0 && colLayer[c] < layer)) continue;
                    const double g = rowGain[r] + value[r * m + c];
                    if (colLayer[c] < 0) {
                        colLayer[c] = layer;
                        nextFrontier.push_back(c);
                    }
                    if (g > colGain[c]) {
                        colGain[c] = g;
                        colFrom[c] = r;
                    }
                }
            for (int c : nextFrontier)
                if (colCount[c] < n && (target < 0 || colGain[c] > colGain[target])) target = c;
            if (target >= 0) break;
            // Columns -> rows through kept entries (releasing them).
            frontier.clear();
            for (int c : nextFrontier)
                for (int r = 0; r < m; ++r) {
                    if (!keep[r * m + c] || (rowLayer[r] >= 0 && rowLayer[r] <= layer)) continue;
                    const double g = colGain[c] - value[r * m + c];
                    if (rowLayer[r] < 0) {
                        rowLayer[r] = layer + 1;
                        frontier.push_back(r);
                    }
                    if (g > rowGain[r]) {
                        rowGain[r] = g;
                        rowFrom[r] = c;
                    }
                }
        }
        if (target < 0) throw std::logic_error("repairTile: no augmenting path");
        // Walk back: add (row, col) entries, release (row, col) kept entries in between.
        int c = target;
        ++colCount[c];
        for (;;) {
            const int r = colFrom[c];
            keep[r * m + c] = 1;
            if (rowLayer[r] == 0) {
                ++rowCount[r];
                break;
            }
            c = rowFrom[r];
            keep[r * m + c] = 0;
        }
        ++kept;
        ++added;
    }
    return added;
}

} // namespace srigl::nm
