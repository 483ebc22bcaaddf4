// Selection of the n largest values of a float array: the primitive of every CPU mask rule.
#pragma once

#include <cstdint>
#include <vector>

namespace srigl {

// Sets out[i] = true for the n largest of values[0..count): the ones above the n-th largest value,
// then ties with it in index order, so exactly min(n, count) entries are chosen, deterministically.
// Entries of out that are already true stay true. Linear time (radix select); scratch is reused
// between calls to avoid allocations.
void selectLargest(const float* values, int64_t count, int64_t n, bool* out, std::vector<uint32_t>& scratch);

} // namespace srigl
