// Radix select on order-preserving integer keys of the floats: a histogram of one byte of the key
// per pass over a shrinking candidate list. Three short linear passes instead of nth_element's
// branchy partitioning: an update of LeNet-300-100 selects over 235k entries several times.
//
// A large selection (a layer-wide one: RigL, SET and SRigL's dense rule select over every weight of
// a layer, 16.7M for a 4096 x 4096 one) splits its passes over the whole array into parts on the
// worker pool: the first byte's histogram, its compaction and the final marking. The parts are fixed
// by the count alone and ties are taken in index order across them, so the choice does not depend on
// the threads.
#include "engine/sparsity/select_largest.hpp"

#include "engine/runtime/worker_pool.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <vector>

namespace srigl {
namespace {

// From this many entries on, the passes over the whole array run in parts on the worker pool
// (a per-row selection, the common call, stays on its thread).
constexpr int64_t kPartedFrom = int64_t{1} << 18;
constexpr int kParts = 8;

// Maps a float to an unsigned key with the same order (negative values included).
inline uint32_t orderedKey(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// The digit (some bits of the key) whose bin holds the need-th largest, and how many lie above it.
struct Digit {
    uint32_t digit;
    int64_t above;
};
Digit digitHolding(const int64_t* hist, size_t bins, int64_t need) {
    size_t digit = bins - 1;
    int64_t above = 0;
    for (; digit > 0; --digit) {
        if (above + hist[digit] >= need) break;
        above += hist[digit];
    }
    return {static_cast<uint32_t>(digit), above};
}

} // namespace

void selectLargest(const float* values, int64_t count, int64_t n, bool* out, std::vector<uint32_t>& scratch) {
    if (n <= 0) return;
    if (n >= count) {
        std::fill(out, out + count, true);
        return;
    }
    scratch.resize(static_cast<size_t>(count));
    const int parts = count >= kPartedFrom ? kParts : 1;
    auto partBegin = [&](int p) { return count * p / parts; };
    auto forParts = [&](const std::function<void(int)>& f) {
        parallelFor(0, parts, 1, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p) f(static_cast<int>(p));
        });
    };

    // First digit: keys and their histogram per part, then each part's candidates moved to the front
    // of its stretch, then the stretches joined in order. A parted selection takes the top 16 bits at
    // once (a per-part table of 64K bins is cheap against its stretch, and one byte would leave a
    // large share of candidates to the serial passes: |w| of a layer spans only a few binades).
    const int firstBits = parts > 1 ? 16 : 8, firstShift = 32 - firstBits;
    const size_t bins = size_t{1} << firstBits;
    std::vector<int64_t> partHist(static_cast<size_t>(parts) * bins); // zeroed
    forParts([&](int p) {
        int64_t* hist = partHist.data() + static_cast<size_t>(p) * bins;
        const int64_t begin = partBegin(p), end = partBegin(p + 1); // not in the loop: a division each
        for (int64_t i = begin; i < end; ++i) {
            const uint32_t key = orderedKey(values[i]);
            scratch[static_cast<size_t>(i)] = key;
            ++hist[key >> firstShift];
        }
    });
    std::vector<int64_t> hist(partHist.begin(), partHist.begin() + static_cast<std::ptrdiff_t>(bins));
    for (int p = 1; p < parts; ++p)
        for (size_t b = 0; b < bins; ++b) hist[b] += partHist[static_cast<size_t>(p) * bins + b];
    const Digit first = digitHolding(hist.data(), bins, n);
    int64_t need = n - first.above; // rank of the threshold among the remaining candidates
    forParts([&](int p) {
        const int64_t begin = partBegin(p), end = partBegin(p + 1);
        auto kept = static_cast<size_t>(begin);
        for (int64_t i = begin; i < end; ++i)
            if ((scratch[static_cast<size_t>(i)] >> firstShift) == first.digit)
                scratch[kept++] = scratch[static_cast<size_t>(i)];
    });
    size_t candidates = 0;
    for (int p = 0; p < parts; ++p) {
        const auto taken = static_cast<size_t>(partHist[static_cast<size_t>(p) * bins + first.digit]);
        std::memmove(scratch.data() + candidates, scratch.data() + partBegin(p), taken * sizeof(uint32_t));
        candidates += taken;
    }

    // The other bytes over the candidates, which the first digit usually cut to a small share.
    uint32_t threshold = scratch[0];
    std::array<int64_t, 256> byteHist{};
    for (int shift = firstShift - 8; shift >= 0 && candidates > 1; shift -= 8) {
        byteHist.fill(0);
        for (size_t i = 0; i < candidates; ++i) ++byteHist[(scratch[i] >> shift) & 0xFFu];
        const Digit d = digitHolding(byteHist.data(), 256, need);
        need -= d.above;
        size_t kept = 0;
        for (size_t i = 0; i < candidates; ++i)
            if (((scratch[i] >> shift) & 0xFFu) == d.digit) scratch[kept++] = scratch[i];
        candidates = kept;
        threshold = scratch[0];
    }

    // Marking: every key above the threshold, then ties with it in index order. Each part counts its
    // own first, so that it knows how many ties the parts before it took.
    std::vector<int64_t> above(static_cast<size_t>(parts), 0), equal(static_cast<size_t>(parts), 0);
    forParts([&](int p) {
        const int64_t begin = partBegin(p), end = partBegin(p + 1);
        int64_t partAbove = 0, partEqual = 0; // locals: the parts' counters share a cache line
        for (int64_t i = begin; i < end; ++i) {
            const uint32_t key = orderedKey(values[i]);
            partAbove += key > threshold;
            partEqual += key == threshold;
        }
        above[static_cast<size_t>(p)] = partAbove;
        equal[static_cast<size_t>(p)] = partEqual;
    });
    int64_t strictlyAbove = 0;
    for (int64_t a : above) strictlyAbove += a;
    std::vector<int64_t> tiesFrom(static_cast<size_t>(parts), 0); // ties the parts before this one took
    for (int p = 1; p < parts; ++p)
        tiesFrom[static_cast<size_t>(p)] = tiesFrom[static_cast<size_t>(p - 1)] + equal[static_cast<size_t>(p - 1)];
    const int64_t ties = n - strictlyAbove;
    forParts([&](int p) {
        int64_t tie = tiesFrom[static_cast<size_t>(p)];
        const int64_t begin = partBegin(p), end = partBegin(p + 1);
        for (int64_t i = begin; i < end; ++i) {
            const uint32_t key = orderedKey(values[i]);
            if (key > threshold) {
                out[i] = true;
            } else if (key == threshold) {
                if (tie < ties) out[i] = true;
                ++tie;
            }
        }
    });
}

} // namespace srigl
