#include "engine/distributed/mask_checksum.hpp"

#include "engine/distributed/distributed_error.hpp"

#include <cstdio>
#include <stdexcept>

namespace srigl {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;
constexpr uint64_t k52Bits = (uint64_t(1) << 52) - 1;

void mix(uint64_t& h, uint64_t byte) {
    h ^= byte & 0xFF;
    h *= kFnvPrime;
}

void mixWord(uint64_t& h, uint64_t word) {
    for (int i = 0; i < 8; ++i) mix(h, word >> (8 * i));
}

} // namespace

uint64_t maskChecksum(const torch::Tensor& mask) {
    auto m = mask.to(torch::kCPU, torch::kBool).contiguous();
    uint64_t h = kFnvOffset;
    mixWord(h, static_cast<uint64_t>(m.dim()));
    for (int64_t d : m.sizes()) mixWord(h, static_cast<uint64_t>(d));
    const bool* bits = m.data_ptr<bool>();
    const int64_t n = m.numel();
    // Eight mask entries per hashed byte.
    for (int64_t i = 0; i < n; i += 8) {
        uint64_t byte = 0;
        for (int64_t j = 0; j < 8 && i + j < n; ++j)
            if (bits[i + j]) byte |= uint64_t(1) << j;
        mix(h, byte);
    }
    return h & k52Bits;
}

void requireChecksumsAgree(const std::vector<std::string>& layers, const std::vector<double>& minimum,
                           const std::vector<double>& maximum, int64_t step) {
    if (minimum.size() != layers.size() || maximum.size() != layers.size())
        throw std::invalid_argument("requireChecksumsAgree: one minimum and one maximum per layer");
    std::string bad;
    for (size_t i = 0; i < layers.size(); ++i)
        if (minimum[i] != maximum[i]) bad += (bad.empty() ? "" : ", ") + layers[i];
    if (!bad.empty())
        throw DistributedError("the masks of the ranks differ after step " + std::to_string(step) + " in layer(s) " +
                               bad + ": the mask update is not deterministic across workers; stopping");
}

std::string combinedChecksum(const std::vector<uint64_t>& layerChecksums) {
    uint64_t h = kFnvOffset;
    for (uint64_t c : layerChecksums) mixWord(h, c);
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
    return text;
}

} // namespace srigl
