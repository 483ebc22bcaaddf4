// libFuzzer target: CIFAR-10 binary batches, raw and gzip (engine/data/cifar_format.hpp); raw inputs
// are gzipped here as well, and both paths must accept the same records.
#include "engine/data/cifar_format.hpp"
#include "engine/errors.hpp"
#include "fuzz/fuzz_support.hpp"

#include <utility>

using namespace srigl;
using srigl::fuzz::require;

namespace {

using Records = std::pair<std::vector<uint8_t>, std::vector<uint8_t>>; // labels, pixels

std::optional<Records> records(const uint8_t* data, size_t size) {
    return fuzz::parsedOrRefused<DataError>("fuzz-batch", [&] {
        CifarBatch batch = parseCifarBatch(data, size, "fuzz-batch");
        require(batch.count >= 1 && batch.count <= kMaxCifarRecords, "record count within limits");
        require(batch.labels.size() == size_t(batch.count), "one label per record");
        require(batch.pixels.size() == size_t(batch.count * kCifarPixels), "3072 pixels per record");
        for (uint8_t l : batch.labels) require(l <= 9, "labels in 0-9");
        return Records(std::move(batch.labels), std::move(batch.pixels));
    });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::requireGzipAgrees(data, size, records, "gzip and plain agree on the records");
    return 0;
}
