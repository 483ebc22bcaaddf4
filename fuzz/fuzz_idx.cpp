// libFuzzer target: IDX image and label files, raw and gzip, through the parser and gzip stream that
// `srigl train` reads MNIST with (engine/data/idx_format.hpp). Raw inputs are also gzipped here, so
// every mutation reaches the decompressing path too, which must agree with the plain one.
#include "engine/data/idx_format.hpp"
#include "engine/errors.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace srigl;
using srigl::fuzz::require;

namespace {

std::optional<std::vector<uint8_t>> images(const uint8_t* data, size_t size) {
    return fuzz::parsedOrRefused<DataError>("fuzz-images", [&] {
        IdxImages parsed = parseIdxImages(data, size, "fuzz-images");
        require(parsed.pixels.size() == uint64_t(parsed.count) * parsed.rows * parsed.cols, "image bytes match the header");
        require(parsed.pixels.size() + 16 <= kMaxIdxBytes, "image file within the limit");
        return std::move(parsed.pixels);
    });
}

std::optional<std::vector<uint8_t>> labels(const uint8_t* data, size_t size) {
    return fuzz::parsedOrRefused<DataError>("fuzz-labels", [&] {
        std::vector<uint8_t> parsed = parseIdxLabels(data, size, "fuzz-labels");
        for (uint8_t l : parsed) require(l <= 9, "labels in 0-9");
        return parsed;
    });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::requireGzipAgrees(data, size, images, "gzip and plain images agree");
    fuzz::requireGzipAgrees(data, size, labels, "gzip and plain labels agree");
    return 0;
}
