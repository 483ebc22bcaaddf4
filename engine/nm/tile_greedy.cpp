// Greedy by decreasing value; ties go to the lower index so results do not depend on the sort.
#include "engine/nm/tile_greedy.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

namespace srigl::nm {

namespace {

// A float's bits mapped to an unsigned integer of the same order (negatives below positives).
uint32_t orderedBits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

} // namespace

int solveTileGreedy(const float* value, int m, int n, uint8_t* keep) {
    const int mm = m * m;
    // One integer key per entry, value in the high half and the complemented index in the low half:
    // sorting the keys in decreasing order gives decreasing value, then increasing index, without
    // an indirect comparator.
    thread_local std::vector<uint64_t> order;
    thread_local std::vector<int> rowCount, colCount;
    order.resize(mm);
    for (int i = 0; i < mm; ++i)
        order[i] = static_cast<uint64_t>(orderedBits(value[i])) << 32 | (0xFFFFFFFFu - static_cast<uint32_t>(i));
    std::sort(order.begin(), order.end(), std::greater<uint64_t>());
    rowCount.assign(m, 0);
    colCount.assign(m, 0);
    std::fill(keep, keep + mm, uint8_t{0});
    int kept = 0;
    for (uint64_t key : order) {
        const int i = static_cast<int>(0xFFFFFFFFu - static_cast<uint32_t>(key));
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
