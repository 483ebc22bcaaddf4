// libFuzzer target: CIFAR-10 binary batches, raw and gzip (engine/data/cifar_format.hpp); raw inputs
// are gzipped here as well, and both paths must accept the same records.
#include "engine/data/cifar_format.hpp"
#include "engine/errors.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace srigl;
using srigl::fuzz::require;

namespace {

struct Parsed {
    bool ok = false;
    CifarBatch batch;
};

Parsed parse(const uint8_t* data, size_t size) {
    try {
        CifarBatch batch = parseCifarBatch(data, size, "fuzz-batch");
        require(batch.count >= 1 && batch.count <= kMaxCifarRecords, "record count within limits");
        require(batch.labels.size() == size_t(batch.count), "one label per record");
        require(batch.pixels.size() == size_t(batch.count * kCifarPixels), "3072 pixels per record");
        for (uint8_t l : batch.labels) require(l <= 9, "labels in 0-9");
        return {true, std::move(batch)};
    } catch (const DataError& e) {
        require(std::string(e.what()).rfind("fuzz-batch", 0) == 0, "messages name the file");
        return {};
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Parsed plain = parse(data, size);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return 0;
    const std::vector<uint8_t> gz = fuzz::gzipBytes(data, size);
    const Parsed packed = parse(gz.data(), gz.size());
    require(packed.ok == plain.ok, "gzip and plain agree on acceptance");
    require(packed.batch.labels == plain.batch.labels && packed.batch.pixels == plain.batch.pixels,
            "gzip and plain agree on the records");
    return 0;
}
