// Reading a LayerMaskSnapshot's packed bits (engine/training/training_observer.hpp): the recorder,
// the codecs, the renderers, the importers and the Studio's structure views all read the same
// layout, bit i % 8 of byte i / 8 for entry i of the row-major [outFeatures, fanIn] mask. Plain
// C++ (no Torch, OpenCV, SQLite or Qt), so that every one of them can link it.
#pragma once

#include "engine/training/training_observer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl::sessions {

inline bool maskKept(const LayerMaskSnapshot& mask, int64_t i) {
    return (mask.bits[static_cast<size_t>(i / 8)] >> (i % 8)) & 1u;
}

inline bool maskBit(const std::vector<uint8_t>& bits, int64_t index) {
    return (bits[static_cast<size_t>(index >> 3)] >> (index & 7)) & 1;
}

// Throws std::invalid_argument naming the layer when the shape is empty, the bits do not fill it or
// an ablated neuron is out of range.
void checkMask(const LayerMaskSnapshot& mask);
// Connections of each neuron (row counts) and of each input (column counts).
std::vector<int64_t> rowCounts(const LayerMaskSnapshot& mask);
std::vector<int64_t> columnCounts(const LayerMaskSnapshot& mask);
// Stored weights are the active ones in mask order: throws std::invalid_argument naming `what`
// (a layer, or a layer at a step) when their count is not the mask's.
void checkWeightCount(const std::string& what, int64_t active, size_t stored);
// The refusal of a row the snapshot does not hold: "'fc1' has no neuron 900", or for a sample
// "'fc2' has no sampled row 2000 (its mask holds rows 0-1023: every 64th of its 65536 neurons)",
// so that a row number is never mistaken for the layer's neuron number.
std::string noSuchRow(const LayerMaskSnapshot& mask, int64_t row);
// 1 for each neuron listed in mask.ablated.
std::vector<uint8_t> ablatedFlags(const LayerMaskSnapshot& mask);

} // namespace srigl::sessions
