// A built-in, download-free digit dataset: font-rendered 0-9, randomly warped, cluttered and noisy.
#pragma once

#include "engine/data/dataset.hpp"

#include <cstdint>

namespace srigl {

// Which seed stream a split is drawn from; train and test never share samples.
enum class SyntheticSplit : uint64_t { Train = 1, Test = 2 };

// Generates `count` 28x28 grey images, uint8 [count, 1, 28, 28], labels int64 [count] cycling
// 0..9 so every class has the same share. Sample i is a pure function of (seed, split, i): a
// larger split extends a smaller one, and the result does not depend on threads or LibTorch's RNG.
// Drawn with OpenCV: a build without it (no SRIGL_HAVE_OPENCV) throws ConfigError("dataset").
DatasetSplit generateSyntheticDigits(int64_t count, uint64_t seed, SyntheticSplit split);

} // namespace srigl
