// Exact transposable N:M mask of one M x M tile as a min-cost flow, solved by successive shortest
// paths (Dijkstra with potentials): maximise the kept sum with exactly N per row and per column.
#pragma once

#include <cstdint>

namespace srigl::nm {

// value: M*M row-major scores (|w|; anything, negative allowed); keep: M*M output, 1 = kept.
// Returns the kept sum. Starts from every row's own top N and moves only the column overloads
// (at most N*M/2 shortest paths of O(M^2) each, a handful in practice); allocation-free after the
// first call on a thread. Deterministic.
double solveTileMinCostFlow(const float* value, int m, int n, uint8_t* keep);

} // namespace srigl::nm
