// float16 conversion by hand (no F16C assumption, same result on every machine) and the byte-plane
// layout that lets zstd find the repetition in the exponents.
#include "sessions/store/weight_codec.hpp"
#include "sessions/mask/mask_bits.hpp"

#include "sessions/store/mask_codec.hpp"
#include "sessions/store/store_error.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

namespace srigl::sessions {
namespace {


void requireBits(const LayerMaskSnapshot& m) {
    // Shapes come from the store: a damaged row must not overflow the product.
    if (m.outFeatures < 0 || m.fanIn < 0 ||
        (m.fanIn > 0 && m.outFeatures > std::numeric_limits<int64_t>::max() / m.fanIn))
        throw StoreError("mask snapshot of " + m.name + " has an impossible shape");
    const int64_t n = m.outFeatures * m.fanIn;
    if (static_cast<uint64_t>(m.bits.size()) < static_cast<uint64_t>(n / 8 + (n % 8 != 0)))
        throw StoreError("mask snapshot of " + m.name + " is truncated");
}

} // namespace

uint16_t floatToHalf(float value) {
    uint32_t f;
    std::memcpy(&f, &value, 4);
    const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
    const uint32_t exp = (f >> 23) & 0xFFu;
    uint32_t mant = f & 0x7FFFFFu;
    if (exp == 0xFF) return static_cast<uint16_t>(sign | 0x7C00u | (mant ? 0x200u : 0u)); // inf, NaN
    const int e = static_cast<int>(exp) - 127 + 15;
    if (e >= 31) return static_cast<uint16_t>(sign | 0x7C00u); // too large: inf
    if (e <= 0) {
        // Subnormal half (or zero): shift the mantissa with its implicit bit into place.
        if (e < -10) return sign;
        mant |= 0x800000u;
        const int shift = 14 - e;
        uint32_t half = mant >> shift;
        const uint32_t rest = mant & ((1u << shift) - 1);
        const uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
        return static_cast<uint16_t>(sign | half);
    }
    uint32_t half = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1FFFu;
    // A carry out of the mantissa correctly bumps the exponent (up to inf).
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
}

float halfToFloat(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    uint32_t f;
    if (exp == 0) {
        if (mant == 0) f = sign;
        else {
            // Subnormal: normalise.
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while (!(mant & 0x400u));
            f = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3FFu) << 13);
        }
    } else if (exp == 31) {
        f = sign | 0x7F800000u | (mant << 13);
    } else {
        f = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
    float out;
    std::memcpy(&out, &f, 4);
    return out;
}

std::vector<float> activeWeights(const LayerWeightSnapshot& w, const LayerMaskSnapshot& mask) {
    requireBits(mask);
    if (w.outFeatures != mask.outFeatures || w.fanIn != mask.fanIn ||
        static_cast<int64_t>(w.values.size()) != w.outFeatures * w.fanIn)
        throw StoreError("weights of " + w.name + " do not match the shape of its mask");
    std::vector<float> out;
    const int64_t n = mask.outFeatures * mask.fanIn;
    for (int64_t i = 0; i < n; ++i)
        if (maskKept(mask, i)) out.push_back(w.values[static_cast<size_t>(i)]);
    return out;
}

LayerWeightSnapshot expandWeights(const std::vector<float>& active, const LayerMaskSnapshot& mask) {
    requireBits(mask);
    const int64_t n = mask.outFeatures * mask.fanIn;
    int64_t bits = 0;
    for (int64_t i = 0; i < n; ++i) bits += maskKept(mask, i);
    if (static_cast<size_t>(bits) != active.size())
        throw StoreError("weights of " + mask.name + ": " + std::to_string(active.size()) +
                         " values for a mask with " + std::to_string(bits) + " active entries");
    LayerWeightSnapshot w;
    w.name = mask.name;
    w.outFeatures = mask.outFeatures;
    w.fanIn = mask.fanIn;
    w.values.assign(static_cast<size_t>(n), 0.0f);
    size_t next = 0;
    for (int64_t i = 0; i < n; ++i)
        if (maskKept(mask, i)) w.values[static_cast<size_t>(i)] = active[next++];
    return w;
}

std::vector<uint8_t> encodeWeights(const std::vector<float>& values) {
    const size_t n = values.size();
    std::vector<uint8_t> planes(2 * n);
    for (size_t i = 0; i < n; ++i) {
        const uint16_t h = floatToHalf(values[i]);
        planes[i] = static_cast<uint8_t>(h >> 8);
        planes[n + i] = static_cast<uint8_t>(h & 0xFF);
    }
    return compressBytes(planes);
}

std::vector<float> decodeWeights(const std::vector<uint8_t>& blob, size_t count) {
    if (count > std::numeric_limits<size_t>::max() / 2) throw StoreError("corrupt weight snapshot: impossible count");
    const auto planes = decompressBytes(blob, 2 * count);
    std::vector<float> out(count);
    for (size_t i = 0; i < count; ++i)
        out[i] = halfToFloat(static_cast<uint16_t>((planes[i] << 8) | planes[count + i]));
    return out;
}

std::vector<uint8_t> encodeCounts(const std::vector<int64_t>& counts) {
    std::vector<uint8_t> out;
    out.reserve(counts.size() * 4);
    for (int64_t c : counts) {
        const auto v = static_cast<uint32_t>(std::min<int64_t>(std::max<int64_t>(c, 0), std::numeric_limits<uint32_t>::max()));
        for (int b = 0; b < 4; ++b) out.push_back(static_cast<uint8_t>((v >> (8 * b)) & 0xFF));
    }
    return out;
}

std::vector<int64_t> decodeCounts(const std::vector<uint8_t>& bytes) {
    if (bytes.size() % 4 != 0) throw StoreError("corrupt weight histogram");
    std::vector<int64_t> out(bytes.size() / 4);
    for (size_t i = 0; i < out.size(); ++i) {
        uint32_t v = 0;
        for (int b = 0; b < 4; ++b) v |= static_cast<uint32_t>(bytes[i * 4 + b]) << (8 * b);
        out[i] = v;
    }
    return out;
}

} // namespace srigl::sessions
