// The colours (RGB) of a mask picture, shared by `srigl runs render`, the Studio's exports and its
// inspector so that a layer looks the same everywhere. A plain struct.
#pragma once

#include <cstdint>

namespace srigl::sessions {

struct MaskPalette {
    uint8_t inactive[3] = {16, 16, 20};
    uint8_t active[3] = {235, 235, 235};
    uint8_t pruned[3] = {220, 60, 50};    // active in `previous`, not now
    uint8_t regrown[3] = {70, 200, 90};   // inactive in `previous`, active now
    uint8_t ablatedRow[3] = {70, 30, 90}; // background of an ablated neuron's row
};

} // namespace srigl::sessions
