// An augmenting path runs from a short row to a short column, alternating an unkept entry (added)
// and a kept entry (released): row -> col -> row -> ... -> col. Each path adds exactly one kept
// entry and fixes one row and one column deficit. In an M x M tile a path of one or three edges
// always exists while the tile is short, so those are the only ones searched. Why: take a short
// row r0 and a short column c2 with (r0, c2) kept (else it is a one-edge path). The columns U that
// r0 does not keep (at least M - N + 1 >= 2 of them) are full, or (r0, c) would be a one-edge path
// to a short column. If no row r1 with (r1, c2) unkept kept anything in U, all N * |U| entries
// kept in U would lie in the fewer than N - 1 rows other than r0 that keep c2, each holding at
// most |U| of them: impossible. So some such r1 gives r0 -> c1 -> r1 -> c2.
#include "engine/nm/tile_repair.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

namespace srigl::nm {

namespace {

// A float's bits as an unsigned integer of the same order, shifted up so that the low half can
// carry indices: the largest key is the best candidate, and max() on integers needs no branch
// (which candidate wins is unpredictable). 0 means "no candidate": real keys are never 0.
uint64_t candidate(bool allowed, float f, uint32_t payload) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    const uint32_t ordered = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return allowed ? (static_cast<uint64_t>(ordered) << 32 | payload) : 0;
}

// Applies the best path of one edge (short row -> short column through an unkept entry) or, when
// there is none, of three (short row r0 -> c1 added, (r1, c1) released, (r1, c2) added with c2
// short): the shortest path that adds the most value. Returns false when neither exists.
bool augmentShort(const float* value, int m, int n, uint8_t* keep, std::array<int, 64>& rowCount,
                  std::array<int, 64>& colCount) {
    // Usually one or two rows and columns are short: the scans below run over those lists.
    std::array<uint8_t, 64> shortRows, shortCols;
    int rowsShort = 0, colsShort = 0;
    for (int i = 0; i < m; ++i) {
        shortRows[rowsShort] = static_cast<uint8_t>(i);
        rowsShort += rowCount[i] < n;
        shortCols[colsShort] = static_cast<uint8_t>(i);
        colsShort += colCount[i] < n;
    }
    uint64_t best = 0;
    for (int a = 0; a < rowsShort; ++a)
        for (int b = 0; b < colsShort; ++b) {
            const int r = shortRows[a], c = shortCols[b];
            best = std::max(best, candidate(!keep[r * m + c], value[r * m + c], static_cast<uint32_t>(r << 8 | c)));
        }
    if (best) {
        const int r = static_cast<int>(best >> 8 & 0xFF), c = static_cast<int>(best & 0xFF);
        keep[r * m + c] = 1;
        ++rowCount[r];
        ++colCount[c];
        return true;
    }
    // reach[c1]: the best value with which a short row reaches column c1 (none reaches a short one).
    std::array<uint64_t, 64> reachKey{};
    std::array<float, 64> reach{};
    for (int a = 0; a < rowsShort; ++a) {
        const int r = shortRows[a];
        for (int c = 0; c < m; ++c)
            reachKey[c] = std::max(reachKey[c], candidate(!keep[r * m + c], value[r * m + c], static_cast<uint32_t>(r)));
    }
    for (int c = 0; c < m; ++c) reach[c] = value[(reachKey[c] & 0xFF) * m + c];
    // Through each full row r1: add its best unkept (r1, c2) in a short column (rows keeping every
    // short column are skipped), and release the kept (r1, c1) that loses least against how c1 was
    // reached.
    for (int r = 0; r < m; ++r) {
        if (rowCount[r] < n) continue;
        uint64_t add = 0;
        for (int b = 0; b < colsShort; ++b) {
            const int c = shortCols[b];
            add = std::max(add, candidate(!keep[r * m + c], value[r * m + c], static_cast<uint32_t>(c)));
        }
        if (!add) continue;
        uint64_t via = 0;
        for (int c = 0; c < m; ++c)
            via = std::max(via, candidate((keep[r * m + c] != 0) & (reachKey[c] != 0), reach[c] - value[r * m + c],
                                          static_cast<uint32_t>(c)));
        if (!via) continue;
        const int c1 = static_cast<int>(via & 0xFF), c2 = static_cast<int>(add & 0xFF);
        const float gain = reach[c1] - value[r * m + c1] + value[r * m + c2];
        best = std::max(best, candidate(true, gain, static_cast<uint32_t>(c1 << 16 | r << 8 | c2)));
    }
    if (!best) return false;
    const int c1 = static_cast<int>(best >> 16 & 0xFF), r1 = static_cast<int>(best >> 8 & 0xFF),
              c2 = static_cast<int>(best & 0xFF);
    const int r0 = static_cast<int>(reachKey[c1] & 0xFF);
    keep[r0 * m + c1] = 1;
    keep[r1 * m + c1] = 0;
    keep[r1 * m + c2] = 1;
    ++rowCount[r0];
    ++colCount[c2];
    return true;
}

} // namespace

int repairTile(const float* value, int m, int n, uint8_t* keep) {
    if (m < 1 || m > 64) throw std::invalid_argument("repairTile: M must be 1..64");
    std::array<int, 64> rowCount{}, colCount{};
    int kept = 0;
    for (int r = 0; r < m; ++r)
        for (int c = 0; c < m; ++c) {
            const int k = keep[r * m + c] != 0;
            rowCount[r] += k;
            colCount[c] += k;
            kept += k;
        }
    for (int i = 0; i < m; ++i)
        if (rowCount[i] > n || colCount[i] > n) throw std::invalid_argument("repairTile: a row or column keeps more than N");
    int added = 0;
    for (; kept < n * m; ++kept, ++added)
        if (!augmentShort(value, m, n, keep, rowCount, colCount)) throw std::logic_error("repairTile: no augmenting path");
    return added;
}

} // namespace srigl::nm
