// Reference solvers that need no cleverness to be trusted: full enumeration (M = 4) and a DP whose
// state space covers every partial mask. Tests compare the min-cost flow and the greedy against them.
#include "engine/nm/tile_exhaustive.hpp"

#include <array>
#include <limits>
#include <mutex>
#include <stdexcept>

namespace srigl::nm {

const std::vector<uint16_t>& validPatterns4(int n) {
    if (n < 0 || n > 4) throw std::invalid_argument("validPatterns4: need 0 <= N <= 4");
    static std::array<std::vector<uint16_t>, 5> cache;
    static std::once_flag once;
    std::call_once(once, [] {
        for (uint32_t bits = 0; bits < (1u << 16); ++bits) {
            std::array<int, 4> rows{}, cols{};
            for (int i = 0; i < 16; ++i)
                if (bits >> i & 1u) {
                    ++rows[i / 4];
                    ++cols[i % 4];
                }
            bool regular = true;
            for (int i = 0; i < 4; ++i) regular = regular && rows[i] == rows[0] && cols[i] == rows[0];
            if (regular) cache[rows[0]].push_back(static_cast<uint16_t>(bits));
        }
    });
    return cache[n];
}

double solveTileExhaustive4(const float* value, int n, uint8_t* keep) {
    const auto& patterns = validPatterns4(n);
    double best = -std::numeric_limits<double>::infinity();
    uint16_t bestBits = patterns.front();
    for (uint16_t bits : patterns) {
        double s = 0;
        for (int i = 0; i < 16; ++i)
            if (bits >> i & 1u) s += value[i];
        if (s > best) {
            best = s;
            bestBits = bits;
        }
    }
    for (int i = 0; i < 16; ++i) keep[i] = bestBits >> i & 1u;
    return best;
}

double solveTileRowDp(const float* value, int m, int n, uint8_t* keep) {
    if (m < 1 || m > 12 || n < 0 || n > m) throw std::invalid_argument("solveTileRowDp: need 0 <= N <= M <= 12");
    // State = column counts written in base n+1; the digit of column c has weight place[c].
    std::vector<int64_t> place(m + 1, 1);
    for (int c = 1; c <= m; ++c) place[c] = place[c - 1] * (n + 1);
    const int64_t states = place[m];
    if (states > 50'000'000) throw std::invalid_argument("solveTileRowDp: state space too large");
    std::vector<uint32_t> choices; // row subsets with exactly n columns
    for (uint32_t bits = 0; bits < (1u << m); ++bits)
        if (__builtin_popcount(bits) == n) choices.push_back(bits);

    const double none = -std::numeric_limits<double>::infinity();
    std::vector<double> cur(states, none), next(states, none);
    // from[row][state]: the choice index that reached `state` after `row`, for the traceback.
    std::vector<std::vector<int32_t>> from(m, std::vector<int32_t>(states, -1));
    cur[0] = 0;
    for (int r = 0; r < m; ++r) {
        std::fill(next.begin(), next.end(), none);
        for (int64_t s = 0; s < states; ++s) {
            if (cur[s] == none) continue;
            for (size_t ci = 0; ci < choices.size(); ++ci) {
                const uint32_t bits = choices[ci];
                int64_t t = s;
                double gain = 0;
                bool fits = true;
                for (int c = 0; c < m && fits; ++c) {
                    if (!(bits >> c & 1u)) continue;
                    fits = (s / place[c]) % (n + 1) < n;
                    t += place[c];
                    gain += value[r * m + c];
                }
                if (fits && cur[s] + gain > next[t]) {
                    next[t] = cur[s] + gain;
                    from[r][t] = static_cast<int32_t>(ci);
                }
            }
        }
        std::swap(cur, next);
    }
    int64_t s = 0;
    for (int c = 0; c < m; ++c) s += n * place[c];
    const double best = cur[s];
    for (int r = m - 1; r >= 0; --r) {
        const uint32_t bits = choices[from[r][s]];
        for (int c = 0; c < m; ++c) {
            keep[r * m + c] = bits >> c & 1u;
            if (bits >> c & 1u) s -= place[c];
        }
    }
    return best;
}

} // namespace srigl::nm
