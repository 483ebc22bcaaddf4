// Rows are counted a byte at a time where they cover whole bytes: a 4096 x 4096 layer is 2 MiB.
#include "sessions/mask/mask_bits.hpp"

#include <stdexcept>
#include <string>

namespace srigl::sessions {

void checkMask(const LayerMaskSnapshot& m) {
    if (m.outFeatures <= 0 || m.fanIn <= 0)
        throw std::invalid_argument("the mask of '" + m.name + "' has an empty shape");
    const auto bytes = static_cast<size_t>((m.outFeatures * m.fanIn + 7) / 8);
    if (m.bits.size() != bytes)
        throw std::invalid_argument("the mask of '" + m.name + "' has " + std::to_string(m.bits.size()) +
                                    " bytes, expected " + std::to_string(bytes));
    for (int64_t id : m.ablated)
        if (id < 0 || id >= m.outFeatures)
            throw std::invalid_argument("ablated neuron " + std::to_string(id) + " of '" + m.name +
                                        "' is out of range");
}

void checkWeightCount(const std::string& what, int64_t active, size_t stored) {
    if (static_cast<int64_t>(stored) != active)
        throw std::invalid_argument(what + " has " + std::to_string(active) + " active connections but " +
                                    std::to_string(stored) + " stored weights");
}

std::vector<int64_t> rowCounts(const LayerMaskSnapshot& m) {
    checkMask(m);
    std::vector<int64_t> counts(static_cast<size_t>(m.outFeatures), 0);
    for (int64_t r = 0; r < m.outFeatures; ++r) {
        int64_t i = r * m.fanIn, n = 0;
        const int64_t end = i + m.fanIn;
        // Rows need not start on a byte boundary: single bits at the ends, whole bytes between.
        for (; i < end && (i & 7); ++i) n += maskBit(m.bits, i);
        for (; i + 8 <= end; i += 8)
            n += __builtin_popcount(static_cast<unsigned>(m.bits[static_cast<size_t>(i >> 3)]));
        for (; i < end; ++i) n += maskBit(m.bits, i);
        counts[static_cast<size_t>(r)] = n;
    }
    return counts;
}

std::vector<int64_t> columnCounts(const LayerMaskSnapshot& m) {
    checkMask(m);
    std::vector<int64_t> counts(static_cast<size_t>(m.fanIn), 0);
    // Sparse masks: visit only the set bits (padding bits past the last entry are ignored).
    const int64_t total = m.outFeatures * m.fanIn;
    for (size_t b = 0; b < m.bits.size(); ++b)
        for (unsigned v = m.bits[b]; v != 0; v &= v - 1) {
            const int64_t i = static_cast<int64_t>(b) * 8 + __builtin_ctz(v);
            if (i < total) ++counts[static_cast<size_t>(i % m.fanIn)];
        }
    return counts;
}

std::vector<uint8_t> ablatedFlags(const LayerMaskSnapshot& m) {
    checkMask(m);
    std::vector<uint8_t> flags(static_cast<size_t>(m.outFeatures), 0);
    for (int64_t id : m.ablated) flags[static_cast<size_t>(id)] = 1;
    return flags;
}

std::string noSuchRow(const LayerMaskSnapshot& mask, int64_t row) {
    const std::string layer = "'" + mask.name + "'";
    if (!mask.sampled()) return layer + " has no neuron " + std::to_string(row);
    return layer + " has no sampled row " + std::to_string(row) + " (its mask holds rows 0-" +
           std::to_string(mask.outFeatures - 1) + ": " + everyNth(mask.rowStride) + " of its " +
           std::to_string(mask.layerRows()) + " neurons)";
}

} // namespace srigl::sessions
