// libFuzzer target: the store's weight codec (sessions/store/weight_codec.hpp) on damaged rows. Input: a
// value count, a mask shape (out, fan_in: any int64, as a damaged row could hold), the mask bits' length
// and bits, then the blob. Decoded weights must re-encode to the same float16 values, histogram counts
// to the same bytes, and weights expanded into a mask must come back out of it unchanged.
#include "fuzz/fuzz_support.hpp"
#include "sessions/store/store_error.hpp"
#include "sessions/store/weight_codec.hpp"

#include <cmath>

using namespace srigl;
using namespace srigl::sessions;
using srigl::fuzz::parsedOrRefused;
using srigl::fuzz::require;

namespace {

void requireSameFloats(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
    require(a.size() == b.size(), what);
    for (size_t i = 0; i < a.size(); ++i)
        require((std::isnan(a[i]) && std::isnan(b[i])) || std::memcmp(&a[i], &b[i], sizeof(float)) == 0, what);
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

    if (const auto values = parsedOrRefused<StoreError>("", [&] { return decodeWeights(blob, size_t(count)); })) {
        require(values->size() == count, "decoded count");
        requireSameFloats(decodeWeights(encodeWeights(*values), values->size()), *values, "float16 round trip");
    }
    if (const auto counts = parsedOrRefused<StoreError>("", [&] { return decodeCounts(blob); }))
        require(encodeCounts(*counts) == blob, "histogram round trip");
    std::vector<float> active(blob.size() / sizeof(float));
    if (!active.empty()) std::memcpy(active.data(), blob.data(), active.size() * sizeof(float));
    if (const auto dense = parsedOrRefused<StoreError>("fuzz", [&] { return expandWeights(active, mask); }))
        requireSameFloats(activeWeights(*dense, mask), active, "active values round trip");
    return 0;
}
