// Exact transposable tile masks by enumeration: all valid 4 x 4 patterns (90 for 2:4), and a
// dynamic programme over rows with the column counts as state (any M, exponential: tests, M <= 8).
#pragma once

#include <cstdint>
#include <vector>

namespace srigl::nm {

// Every 4 x 4 0/1 matrix with n ones per row and column, bit (4 * row + col).
const std::vector<uint16_t>& validPatterns4(int n);

// M = 4 only: the best of validPatterns4(n). Returns the kept sum; ties go to the first pattern.
double solveTileExhaustive4(const float* value, int n, uint8_t* keep);

// Exact for any M, N by DP over rows (state: how many are kept in each column so far); cost grows
// like (N+1)^M * C(M, N) * M, about 0.2 s for 8 x 8 with N = 4. Returns the kept sum.
double solveTileRowDp(const float* value, int m, int n, uint8_t* keep);

} // namespace srigl::nm
