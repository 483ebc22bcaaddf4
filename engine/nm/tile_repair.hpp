// Completes a tile whose rows/columns keep at most N (e.g. after the greedy) so that every row and
// every column keeps exactly N, by augmenting paths in the bipartite residual graph.
#pragma once

#include <cstdint>

namespace srigl::nm {

// keep: M*M row-major, in/out; no row or column may keep more than N. Returns the number of
// augmentations (= entries added; N*M - kept before). Among the shortest augmenting paths it takes
// the one that adds the most value.
int repairTile(const float* value, int m, int n, uint8_t* keep);

} // namespace srigl::nm
