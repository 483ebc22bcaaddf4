// Greedy by decreasing value; ties go to the lower index so results do not depend on the sort.
#include "engine/nm/tile_greedy.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace srigl::nm {

int solveTileGreedy(const float* value, int m, int n, uint8_t* keep) {
    const int mm = m * m;
    thread_local std::vector<int> order, rowCount, colCount;
    order.resize(mm);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [value](int a, int b) {
        return value[a] > value[b] || (value[a] == value[b] && a < b);
    });
    rowCount.assign(m, 0);
    colCount.assign(m, 0);
    std::fill(keep, keep + mm, uint8_t{0});
    int kept = 0;
    for (int i : order) {
        const int r = i / m, c = i % m;
        if (rowCount[r] < n && colCount[c] < n) {
            keep[i] = 1;
            ++rowCount[r];
            ++colCount[c];
            if (++kept == n * m) break; // every row is full: nothing else can be taken
        }
    }
    return kept;
}

} // namespace srigl::nm
