// Greedy by decreasing value; ties go to the lower index so results do not depend on how the order
// is found. Tiles of up to 8 x 8 (2:4, 4:8: the ones training recomputes every few steps) take a
// fast path: every entry's rank is counted against all others with AVX2 compares (64 x 8 vector
// steps, no branches), and the greedy pass keeps its row and column counters in two registers.
// Larger tiles, and CPUs without AVX2, sort one packed integer key per entry. Both give the same
// mask (tests).
#include "engine/nm/tile_greedy.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <functional>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define SRIGL_TILE_AVX2 1
#endif

namespace srigl::nm {

namespace {

// A float's bits mapped to an unsigned integer of the same order (negatives below positives).
uint32_t orderedBits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

#ifdef SRIGL_TILE_AVX2
// The same order as a signed integer, which is what the vector compares take.
int32_t signedKey(float f) { return static_cast<int32_t>(orderedBits(f) ^ 0x80000000u); }

// Visits entries in `order` (indices by decreasing value) and keeps each one whose row and column
// still have room, without branches (whether an entry is taken is a coin flip to the predictor).
// Each row and column has an 8-bit counter in one register, started at 128 - N: its top bit is set
// exactly when it is full.
struct CounterShifts {
    std::array<uint8_t, 64> row, col; // bit offset of entry i's row / column counter
};

const CounterShifts& shiftsFor(int m) {
    static const auto table = [] {
        std::array<CounterShifts, 9> t{};
        for (int size = 1; size <= 8; ++size)
            for (int r = 0, i = 0; r < size; ++r)
                for (int c = 0; c < size; ++c, ++i) {
                    t[size].row[i] = static_cast<uint8_t>(8 * r);
                    t[size].col[i] = static_cast<uint8_t>(8 * c);
                }
        return t;
    }();
    return table[m];
}

int greedyPass(const uint8_t* order, int mm, int m, int n, uint8_t* keep) {
    const auto& [rowShift, colShift] = shiftsFor(m);
    const uint64_t start = static_cast<uint64_t>(128 - n) * 0x0101010101010101ull;
    uint64_t rows = start, cols = start;
    std::fill(keep, keep + mm, uint8_t{0});
    int kept = 0;
    const int target = n * m;
    for (int k = 0; k < mm; ++k) {
        const int i = order[k];
        const unsigned rs = rowShift[i], cs = colShift[i];
        const uint64_t take = (((rows >> rs) | (cols >> cs)) >> 7 & 1u) ^ 1u;
        keep[i] = static_cast<uint8_t>(take);
        rows += take << rs;
        cols += take << cs;
        kept += static_cast<int>(take);
        if (kept == target) break; // every row is full: nothing else can be taken
    }
    return kept;
}

// order[rank(i)] = i, where rank(i) counts the entries before i: larger keys, and equal keys at a
// lower index. Blocks = keys / 8 (keys padded with INT32_MIN at the end: the pads have the highest
// indices, so they never count before a real entry; real keys are above INT32_MIN). "Equal at a
// lower index" is "greater than key - 1" there, so one compare per block covers both cases: the
// threshold is ki + (j < i ? -1 : 0). Counts add up in the lanes (a true compare is -1) and are
// summed once per entry; a compile-time block count keeps every block in a register.
template <int Blocks>
__attribute__((target("avx2"))) void rankOrderAvx2(const int32_t* key, int count, uint8_t* order) {
    __m256i block[Blocks], index[Blocks];
    for (int b = 0; b < Blocks; ++b) {
        block[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(key + 8 * b));
        index[b] = _mm256_setr_epi32(8 * b, 8 * b + 1, 8 * b + 2, 8 * b + 3, 8 * b + 4, 8 * b + 5, 8 * b + 6, 8 * b + 7);
    }
    for (int i = 0; i < count; ++i) {
        const __m256i ki = _mm256_set1_epi32(key[i]);
        const __m256i ii = _mm256_set1_epi32(i);
        __m256i before = _mm256_setzero_si256();
        for (int b = 0; b < Blocks; ++b) {
            const __m256i threshold = _mm256_add_epi32(ki, _mm256_cmpgt_epi32(ii, index[b]));
            before = _mm256_sub_epi32(before, _mm256_cmpgt_epi32(block[b], threshold));
        }
        const __m128i half = _mm_add_epi32(_mm256_castsi256_si128(before), _mm256_extracti128_si256(before, 1));
        const __m128i quarter = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0x4E));
        const int rank = _mm_cvtsi128_si32(_mm_add_epi32(quarter, _mm_shuffle_epi32(quarter, 0xB1)));
        order[rank] = static_cast<uint8_t>(i);
    }
}

__attribute__((target("avx2"))) void rankOrderAvx2(const int32_t* key, int count, uint8_t* order) {
    switch ((count + 7) / 8) {
    case 1: return rankOrderAvx2<1>(key, count, order);
    case 2: return rankOrderAvx2<2>(key, count, order);
    case 4: return rankOrderAvx2<4>(key, count, order);
    case 5: return rankOrderAvx2<5>(key, count, order);
    case 7: return rankOrderAvx2<7>(key, count, order);
    default: return rankOrderAvx2<8>(key, count, order); // 3 and 6 blocks do not occur for m*m <= 64
    }
}

bool haveAvx2() {
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
    }();
    return yes;
}

int solveSmall(const float* value, int m, int n, uint8_t* keep) {
    const int mm = m * m;
    alignas(32) std::array<int32_t, 64> key;
    key.fill(INT32_MIN);
    for (int i = 0; i < mm; ++i) key[i] = std::max(signedKey(value[i]), INT32_MIN + 1); // only one NaN pattern moves
    std::array<uint8_t, 64> order;
    rankOrderAvx2(key.data(), mm, order.data());
    return greedyPass(order.data(), mm, m, n, keep);
}
#endif

} // namespace

int solveTileGreedySorted(const float* value, int m, int n, uint8_t* keep) {
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

int solveTileGreedy(const float* value, int m, int n, uint8_t* keep) {
#ifdef SRIGL_TILE_AVX2
    if (m <= 8 && haveAvx2()) return solveSmall(value, m, n, keep);
#endif
    return solveTileGreedySorted(value, m, n, keep);
}

} // namespace srigl::nm
