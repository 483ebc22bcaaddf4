// libFuzzer target: the store's mask codec (sessions/mask_codec.hpp) on damaged blobs. Input: the
// expected size (8 bytes, as a store row could hold anything) and the zstd blob; the same bytes are
// also decoded as an ablated-id list. What decodes must encode back to the same content.
#include "fuzz/fuzz_support.hpp"
#include "sessions/mask_codec.hpp"
#include "sessions/store_error.hpp"

using namespace srigl::sessions;
using srigl::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    srigl::fuzz::InputCursor in(data, size);
    const auto expected = in.take<uint64_t>();
    const std::vector<uint8_t> blob = in.rest();
    try {
        const std::vector<uint8_t> raw = decompressBytes(blob, static_cast<size_t>(expected));
        require(raw.size() == expected, "decompressed size is the expected one");
        require(decompressBytes(compressBytes(raw), raw.size()) == raw, "compress round trip");
    } catch (const StoreError&) {
    }
    try {
        const std::vector<int64_t> ids = decodeIds(blob);
        require(encodeIds(ids) == blob, "id round trip");
    } catch (const StoreError&) {
    }
    return 0;
}
