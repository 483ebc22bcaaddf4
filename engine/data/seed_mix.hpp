// Seed derivation shared by the data module: turns (seed, stream, index) into independent 64-bit seeds.
#pragma once

#include <cstdint>

namespace srigl {

// SplitMix64's finaliser: a bijective mix, so nearby inputs give unrelated outputs.
inline uint64_t splitMix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Derives the seed of item `index` of the stream seeded `seed`. Mixing twice keeps
// mixSeed(a, b) and mixSeed(b, a) unrelated.
inline uint64_t mixSeed(uint64_t seed, uint64_t index)
{
    return splitMix64(splitMix64(seed) ^ (index * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull));
}

} // namespace srigl
