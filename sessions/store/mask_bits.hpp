// Reading one entry of a packed mask snapshot (engine/training/training_observer.hpp): the recorder,
// the codecs, the renderers and the importers all read the same layout, bit i % 8 of byte i / 8 for
// entry i of the row-major [outFeatures, fanIn] mask.
#pragma once

#include "engine/training/training_observer.hpp"

#include <cstdint>

namespace srigl::sessions {

inline bool maskKept(const LayerMaskSnapshot& mask, int64_t i) {
    return (mask.bits[static_cast<size_t>(i / 8)] >> (i % 8)) & 1u;
}

} // namespace srigl::sessions
