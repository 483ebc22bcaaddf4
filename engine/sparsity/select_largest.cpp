// Radix select on order-preserving integer keys of the floats: a histogram of one byte of the key
// per pass over a shrinking candidate list. Three short linear passes instead of nth_element's
// branchy partitioning: an update of LeNet-300-100 selects over 235k entries several times.
#include "engine/sparsity/select_largest.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace srigl {
namespace {

// Maps a float to an unsigned key with the same order (negative values included).
inline uint32_t orderedKey(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

} // namespace

void selectLargest(const float* values, int64_t count, int64_t n, bool* out, std::vector<uint32_t>& scratch) {
    if (n <= 0) return;
    if (n >= count) {
        std::fill(out, out + count, true);
        return;
    }
    scratch.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) scratch[static_cast<size_t>(i)] = orderedKey(values[i]);

    // Find the key of the n-th largest value, one byte at a time from the top.
    size_t candidates = static_cast<size_t>(count);
    int64_t need = n; // rank of the threshold among the remaining candidates
    uint32_t threshold = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        std::array<int64_t, 256> hist{};
        for (size_t i = 0; i < candidates; ++i) ++hist[(scratch[i] >> shift) & 0xFFu];
        int digit = 255;
        int64_t above = 0;
        for (; digit > 0; --digit) {
            if (above + hist[static_cast<size_t>(digit)] >= need) break;
            above += hist[static_cast<size_t>(digit)];
        }
        need -= above;
        size_t kept = 0;
        for (size_t i = 0; i < candidates; ++i)
            if (((scratch[i] >> shift) & 0xFFu) == static_cast<uint32_t>(digit)) scratch[kept++] = scratch[i];
        candidates = kept;
        threshold = scratch[0];
        if (candidates == 1) break;
    }

    int64_t strictlyAbove = 0;
    for (int64_t i = 0; i < count; ++i) strictlyAbove += orderedKey(values[i]) > threshold;
    int64_t ties = n - strictlyAbove;
    for (int64_t i = 0; i < count; ++i) {
        const uint32_t key = orderedKey(values[i]);
        if (key > threshold) {
            out[i] = true;
        } else if (key == threshold && ties > 0) {
            out[i] = true;
            --ties;
        }
    }
}

} // namespace srigl
