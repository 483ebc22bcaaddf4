// Mask diversity (MD): how many masks a sparsity structure allows, as log10 (docs/algorithms.md).
// Unstructured C(T, kept); N:M C(M, N)^(T/M); constant fan-in C(F, k)^R; transposable K(M, N)^(T/M^2).
#pragma once

#include "engine/analysis/big_uint.hpp"
#include "engine/nm/nm_pattern.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl::nm {

// log10 C(n, k) from log-gamma; 0 for k <= 0 or k >= n; exact up to double rounding.
double log10Binomial(int64_t n, int64_t k);

// K(M, N): M x M 0/1 matrices with exactly N ones in every row and column, counted exactly by a DP
// over rows whose state is how many columns hold 0, 1, ..., N ones. K(4,2) = 90,
// K(8,4) = 116963796250. Cached. Throws std::invalid_argument when the state space is too large
// (about C(M + N', N') states with N' = min(N, M - N); fine for M <= 16 except N near M/2 at 16).
BigUint transposableTileCount(int m, int n);
double log10TransposableTileCount(int m, int n);

double log10MdUnstructured(int64_t total, int64_t kept);
double log10MdConstantFanIn(int64_t rows, int64_t fanIn, int64_t k);
// rows groups-rows of width `in` (Linear: out; Conv2d: out * kh * kw). A trailing partial group of
// r < M weights counts C(r, min(N, r)) (the padding rule of nm_mask.hpp), so this is exact.
double log10MdNm(int64_t rows, int64_t in, NmPattern p);
// planes [out, in] matrices (Conv2d: kh * kw). Full tiles count exactly; the entries of edge tiles
// count as fractions of a tile (the spec's T / M^2 exponent) - an estimate for those tiles only.
double log10MdTransposable(int64_t planes, int64_t out, int64_t in, NmPattern p);

struct LayerDiversityInput {
    std::string name;
    std::vector<int64_t> shape; // Linear [out, in] or Conv2d [out, in, kh, kw]
    double density = 1.0;       // for unstructured and constant fan-in; N:M uses N/M
};

struct LayerDiversity {
    std::string name;
    int64_t weights = 0;
    double unstructured = 0; // C(T, round(T * density))
    double constantFanIn = 0; // C(fan_in, round(fan_in * density))^out
    double nm = 0;
    double transposable = 0; // -1 when K(M, N) is too large to count
};

struct ModelDiversity {
    std::vector<LayerDiversity> layers;
    LayerDiversity total; // sums of the logs (the model's count is the product over layers)
};

LayerDiversity layerDiversity(const LayerDiversityInput& layer, NmPattern p);
ModelDiversity modelDiversity(const std::vector<LayerDiversityInput>& layers, NmPattern p);

} // namespace srigl::nm
