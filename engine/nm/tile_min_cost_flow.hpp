// Exact transposable N:M mask of one M x M tile as a min-cost flow, solved by successive shortest
// paths (Dijkstra with potentials): maximise the kept sum with exactly N per row and per column.
#pragma once

#include <cstdint>

namespace srigl::nm {

// value: M*M row-major scores (|w|; anything, negative allowed); keep: M*M output, 1 = kept.
// Returns the kept sum. O(N * M^3) per tile; allocation-free after the first call on a thread.
double solveTileMinCostFlow(const float* value, int m, int n, uint8_t* keep);

} // namespace srigl::nm
