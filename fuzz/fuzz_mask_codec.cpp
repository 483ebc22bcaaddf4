// libFuzzer target: the store's mask codec (sessions/store/mask_codec.hpp) on damaged blobs. Input: the
// expected size (8 bytes, as a store row could hold anything) and the zstd blob; the same bytes are
// also decoded as an ablated-id list. What decodes must encode back to the same content.
#include "fuzz/fuzz_support.hpp"
#include "sessions/store/mask_codec.hpp"
#include "sessions/store/store_error.hpp"

using namespace srigl::sessions;
using srigl::fuzz::parsedOrRefused;
using srigl::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    srigl::fuzz::InputCursor in(data, size);
    const auto expected = in.take<uint64_t>();
    const std::vector<uint8_t> blob = in.rest();
    if (const auto raw = parsedOrRefused<StoreError>("", [&] { return decompressBytes(blob, size_t(expected)); })) {
        require(raw->size() == expected, "decompressed size is the expected one");
        require(decompressBytes(compressBytes(*raw), raw->size()) == *raw, "compress round trip");
    }
    if (const auto ids = parsedOrRefused<StoreError>("", [&] { return decodeIds(blob); }))
        require(encodeIds(*ids) == blob, "id round trip");
    return 0;
}
