// Proof that every rank holds the same masks: a 52-bit hash per layer (exact in a double), whose
// minimum and maximum over the ranks (one MAX all-reduce of [h, -h]) must coincide.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

// FNV-1a over the shape and the bits of a boolean (or 0/1) mask, masked to 52 bits.
uint64_t maskChecksum(const torch::Tensor& mask);

// Throws DistributedError naming every layer whose minimum and maximum differ, with the step.
void requireChecksumsAgree(const std::vector<std::string>& layers, const std::vector<double>& minimum,
                           const std::vector<double>& maximum, int64_t step);

// The hashes of all layers folded into one 16-digit hex string, for printing and comparing.
std::string combinedChecksum(const std::vector<uint64_t>& layerChecksums);

} // namespace srigl
