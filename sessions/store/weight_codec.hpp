// Compact storage of a layer's weights for heatmaps: only the active weights (in mask order),
// as float16 split into byte planes and zstd-compressed; and the way back to a dense matrix.
#pragma once

#include "engine/training/training_observer.hpp"

#include <cstdint>
#include <vector>

namespace srigl::sessions {

// IEEE half precision, round to nearest even; inf and NaN kept, out-of-range values become inf.
uint16_t floatToHalf(float value);
float halfToFloat(uint16_t half);

// The weights inside the mask, row by row (the order of the mask's set bits). Throws StoreError
// when the shapes differ.
std::vector<float> activeWeights(const LayerWeightSnapshot& weights, const LayerMaskSnapshot& mask);
// The dense [out, fan_in] matrix: `active` placed at the mask's set bits, zero elsewhere. Throws
// StoreError when the count does not match the mask.
LayerWeightSnapshot expandWeights(const std::vector<float>& active, const LayerMaskSnapshot& mask);

// float16 values, high bytes then low bytes (similar high bytes compress well), through zstd.
std::vector<uint8_t> encodeWeights(const std::vector<float>& values);
// count guards against a corrupt blob (StoreError on mismatch).
std::vector<float> decodeWeights(const std::vector<uint8_t>& blob, size_t count);

// Histogram counts <-> little-endian uint32.
std::vector<uint8_t> encodeCounts(const std::vector<int64_t>& counts);
std::vector<int64_t> decodeCounts(const std::vector<uint8_t>& bytes);

} // namespace srigl::sessions
