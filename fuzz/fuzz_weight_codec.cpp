// libFuzzer target: the store's weight codec (sessions/weight_codec.hpp) on damaged rows. Input: a
// value count, a mask shape (out, fan_in: any int64, as a damaged row could hold), the mask bits' length
// and bits, then the blob. Decoded weights must re-encode to the same float16 values, histogram counts
// to the same bytes, and weights expanded into a mask must come back out of it unchanged.
#include "fuzz/fuzz_support.hpp"
#include "sessions/store_error.hpp"
#include "sessions/weight_codec.hpp"

#include <cmath>

using namespace srigl;
using namespace srigl::sessions;
using srigl::fuzz::require;

namespace {

bool sameFloat(float a, float b) {
    return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    srigl::fuzz::InputCursor in(data, size);
    const auto count = in.take<uint64_t>();
    LayerMaskSnapshot mask;
    mask.name = "fuzz";
    mask.outFeatures = in.take<int64_t>();
    mask.fanIn = in.take<int64_t>();
    mask.bits = in.takeBytes(in.take<uint16_t>());
    const std::vector<uint8_t> blob = in.rest();

    try {
        const std::vector<float> values = decodeWeights(blob, static_cast<size_t>(count));
        require(values.size() == count, "decoded count");
        const std::vector<float> again = decodeWeights(encodeWeights(values), values.size());
        for (size_t i = 0; i < values.size(); ++i) require(sameFloat(values[i], again[i]), "float16 round trip");
    } catch (const StoreError&) {
    }
    try {
        const std::vector<int64_t> counts = decodeCounts(blob);
        require(encodeCounts(counts) == blob, "histogram round trip");
    } catch (const StoreError&) {
    }
    std::vector<float> active(blob.size() / sizeof(float));
    if (!active.empty()) std::memcpy(active.data(), blob.data(), active.size() * sizeof(float));
    try {
        const LayerWeightSnapshot dense = expandWeights(active, mask);
        const std::vector<float> back = activeWeights(dense, mask);
        require(back.size() == active.size(), "active count round trip");
        for (size_t i = 0; i < back.size(); ++i) require(sameFloat(back[i], active[i]), "active values round trip");
    } catch (const StoreError&) {
    }
    return 0;
}
