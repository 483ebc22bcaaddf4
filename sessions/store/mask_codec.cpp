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

namespace {

// Values as little-endian bytes of their bit patterns (Word: the unsigned integer of T's size), and
// back; a length that is not whole values is an error naming `what` and the length.
template <typename Word, typename T>
std::vector<uint8_t> toLittleEndian(const std::vector<T>& values) {
    static_assert(sizeof(Word) == sizeof(T));
    std::vector<uint8_t> out;
    out.reserve(values.size() * sizeof(T));
    for (const T& v : values) {
        Word bits = 0;
        std::memcpy(&bits, &v, sizeof(T));
        for (size_t b = 0; b < sizeof(T); ++b) out.push_back(static_cast<uint8_t>((bits >> (8 * b)) & 0xFF));
    }
    return out;
}

template <typename Word, typename T>
std::vector<T> fromLittleEndian(const std::vector<uint8_t>& bytes, const char* what) {
    if (bytes.size() % sizeof(T) != 0)
        throw StoreError(std::string("corrupt ") + what + ": " + std::to_string(bytes.size()) + " bytes");
    std::vector<T> out(bytes.size() / sizeof(T));
    for (size_t i = 0; i < out.size(); ++i) {
        Word bits = 0;
        for (size_t b = 0; b < sizeof(T); ++b) bits |= static_cast<Word>(bytes[i * sizeof(T) + b]) << (8 * b);
        std::memcpy(&out[i], &bits, sizeof(T));
    }
    return out;
}

} // namespace

std::vector<uint8_t> encodeIds(const std::vector<int64_t>& ids) { return toLittleEndian<uint64_t>(ids); }

std::vector<int64_t> decodeIds(const std::vector<uint8_t>& bytes) {
    return fromLittleEndian<uint64_t, int64_t>(bytes, "id list");
}

std::vector<uint8_t> encodeFloats(const std::vector<float>& values) { return toLittleEndian<uint32_t>(values); }

std::vector<float> decodeFloats(const std::vector<uint8_t>& bytes) {
    return fromLittleEndian<uint32_t, float>(bytes, "float list");
}

} // namespace srigl::sessions
