// Test helpers for hand-built mask snapshots: an empty [out, fan_in] mask and single entries set,
// cleared or read in its packed bits (bit i of byte i/8 is entry row * fan_in + col).
#pragma once

#include "engine/training/training_observer.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

inline srigl::LayerMaskSnapshot emptyMask(const std::string& name, int64_t out, int64_t fanIn) {
    srigl::LayerMaskSnapshot m;
    m.name = name;
    m.outFeatures = out;
    m.fanIn = fanIn;
    m.bits.assign(static_cast<size_t>((out * fanIn + 7) / 8), 0);
    return m;
}

inline void set(srigl::LayerMaskSnapshot& m, int64_t row, int64_t col) {
    const int64_t i = row * m.fanIn + col;
    m.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
}

inline void setEach(srigl::LayerMaskSnapshot& m, const std::vector<std::pair<int64_t, int64_t>>& entries) {
    for (const auto& [row, col] : entries) set(m, row, col);
}

inline void clear(srigl::LayerMaskSnapshot& m, int64_t row, int64_t col) {
    const int64_t i = row * m.fanIn + col;
    m.bits[static_cast<size_t>(i / 8)] &= static_cast<uint8_t>(~(1u << (i % 8)));
}

inline bool isSet(const srigl::LayerMaskSnapshot& m, int64_t row, int64_t col) {
    const int64_t i = row * m.fanIn + col;
    return (m.bits[static_cast<size_t>(i / 8)] >> (i % 8)) & 1;
}
