// zstd at a low level: masks change little between updates but are written at every one, so speed
// matters more than the last few percent of size.
#include "sessions/store/mask_codec.hpp"

#include "sessions/store/store_error.hpp"

#include <zstd.h>

#include <cstring>
#include <string>

namespace srigl::sessions {
namespace {

// 2^33 mask bits or 2^29 float16 weights: far beyond any layer this program trains.
constexpr size_t kMaxSnapshotBytes = size_t(1) << 30;

} // namespace

std::vector<uint8_t> compressBytes(const std::vector<uint8_t>& raw) {
    std::vector<uint8_t> out(ZSTD_compressBound(raw.size()));
    const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3);
    if (ZSTD_isError(n)) throw StoreError(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

std::vector<uint8_t> decompressBytes(const std::vector<uint8_t>& compressed, size_t expectedSize) {
    // Checked before allocating: the expected size comes from a row of the store, which a damaged
    // database can make anything. compressBytes writes the content size into every frame.
    const unsigned long long declared = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR) throw StoreError("corrupt mask snapshot: not a zstd frame");
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != expectedSize)
        throw StoreError("corrupt mask snapshot: holds " + std::to_string(declared) + " bytes, expected " +
                         std::to_string(expectedSize));
    if (expectedSize > kMaxSnapshotBytes)
        throw StoreError("corrupt mask snapshot: " + std::to_string(expectedSize) + " bytes is beyond any layer");
    std::vector<uint8_t> out(expectedSize);
    const size_t n = ZSTD_decompress(out.data(), out.size(), compressed.data(), compressed.size());
    if (ZSTD_isError(n)) throw StoreError(std::string("corrupt mask snapshot: ") + ZSTD_getErrorName(n));
    if (n != expectedSize)
        throw StoreError("corrupt mask snapshot: " + std::to_string(n) + " bytes, expected " + std::to_string(expectedSize));
    return out;
}

std::vector<uint8_t> encodeIds(const std::vector<int64_t>& ids) {
    std::vector<uint8_t> out;
    out.reserve(ids.size() * 8);
    for (int64_t id : ids)
        for (int b = 0; b < 8; ++b) out.push_back(static_cast<uint8_t>((static_cast<uint64_t>(id) >> (8 * b)) & 0xFF));
    return out;
}

std::vector<int64_t> decodeIds(const std::vector<uint8_t>& bytes) {
    if (bytes.size() % 8 != 0) throw StoreError("corrupt id list");
    std::vector<int64_t> out(bytes.size() / 8);
    for (size_t i = 0; i < out.size(); ++i) {
        uint64_t v = 0;
        for (int b = 0; b < 8; ++b) v |= static_cast<uint64_t>(bytes[i * 8 + b]) << (8 * b);
        out[i] = static_cast<int64_t>(v);
    }
    return out;
}

std::vector<uint8_t> encodeFloats(const std::vector<float>& values) {
    std::vector<uint8_t> out;
    out.reserve(values.size() * 4);
    for (float v : values) {
        uint32_t bits = 0;
        std::memcpy(&bits, &v, 4);
        for (int b = 0; b < 4; ++b) out.push_back(static_cast<uint8_t>((bits >> (8 * b)) & 0xFF));
    }
    return out;
}

std::vector<float> decodeFloats(const std::vector<uint8_t>& bytes) {
    if (bytes.size() % 4 != 0) throw StoreError("corrupt float list: " + std::to_string(bytes.size()) + " bytes");
    std::vector<float> out(bytes.size() / 4);
    for (size_t i = 0; i < out.size(); ++i) {
        uint32_t bits = 0;
        for (int b = 0; b < 4; ++b) bits |= static_cast<uint32_t>(bytes[i * 4 + b]) << (8 * b);
        std::memcpy(&out[i], &bits, 4);
    }
    return out;
}

} // namespace srigl::sessions
