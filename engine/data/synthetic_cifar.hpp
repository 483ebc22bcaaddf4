// A built-in, download-free colour dataset shaped like CIFAR-10: 3x32x32, ten classes of textured
// shapes on cluttered backgrounds. Plain C++ (no OpenCV), so every build has a 3-channel dataset.
#pragma once

#include "engine/data/dataset.hpp"
#include "engine/data/synthetic_digits.hpp" // SyntheticSplit: the built-in sets share the split streams

#include <cstdint>

namespace srigl {

// Generates `count` images, uint8 [count, 3, 32, 32] (the layout readCifarTrain gives), labels int64
// [count] cycling 0..9 so every class has the same share. Each class is a shape (disk, square, ring,
// cross, diamond: two classes each) with its own hue and stripe frequency/orientation; position,
// size, tilt, phase and colour vary, and background gradients, stripes, clutter, occluders and
// noise hide the cues in part (a class's hue or stripes are sometimes missing). Sample i is a pure
// function of (seed, split, i): a larger split extends a smaller one, independent of threads,
// LibTorch's RNG and the standard library's distributions.
DatasetSplit generateSyntheticCifar(int64_t count, uint64_t seed, SyntheticSplit split);

} // namespace srigl
