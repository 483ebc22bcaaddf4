// The fast 2-approximation for a transposable tile (Hubara et al.): visit entries by decreasing
// value, keep one while its row and its column both have fewer than N. Never exceeds N anywhere.
#pragma once

#include <cstdint>

namespace srigl::nm {

// value, keep: M*M row-major. Returns how many entries were kept (N*M when the tile is full; less
// when some rows/columns are left short, which tileRepair completes). Kept sum >= 1/2 optimum.
int solveTileGreedy(const float* value, int m, int n, uint8_t* keep);

// The same greedy by one sort of packed keys, for any M: what solveTileGreedy runs for M > 8 or
// without AVX2, and the reference its fast path must equal.
int solveTileGreedySorted(const float* value, int m, int n, uint8_t* keep);

} // namespace srigl::nm
