// Compression of mask snapshots for the store: packed bits through zstd, bit-exact round trip.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace srigl::sessions {

std::vector<uint8_t> compressBytes(const std::vector<uint8_t>& raw);
// expectedSize guards against a corrupt blob: a size mismatch throws StoreError.
std::vector<uint8_t> decompressBytes(const std::vector<uint8_t>& compressed, size_t expectedSize);

// int64 ids <-> little-endian bytes (ablated neuron lists).
std::vector<uint8_t> encodeIds(const std::vector<int64_t>& ids);
std::vector<int64_t> decodeIds(const std::vector<uint8_t>& bytes);

// float32 values <-> little-endian bytes, exact (per-neuron thresholds).
std::vector<uint8_t> encodeFloats(const std::vector<float>& values);
std::vector<float> decodeFloats(const std::vector<uint8_t>& bytes);

} // namespace srigl::sessions
