// libFuzzer target: IDX image and label files, raw and gzip, through the parser and gzip stream that
// `srigl train` reads MNIST with (engine/data/idx_format.hpp). Raw inputs are also gzipped here, so
// every mutation reaches the decompressing path too, which must agree with the plain one.
#include "engine/data/idx_format.hpp"
#include "engine/errors.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace srigl;
using srigl::fuzz::require;

namespace {

struct Parsed {
    bool ok = false;
    std::vector<uint8_t> bytes;
};

Parsed images(const uint8_t* data, size_t size) {
    try {
        IdxImages parsed = parseIdxImages(data, size, "fuzz-images");
        require(parsed.pixels.size() == uint64_t(parsed.count) * parsed.rows * parsed.cols, "image bytes match the header");
        require(parsed.pixels.size() + 16 <= kMaxIdxBytes, "image file within the limit");
        return {true, std::move(parsed.pixels)};
    } catch (const DataError& e) {
        require(std::string(e.what()).rfind("fuzz-images", 0) == 0, "image messages name the file");
        return {};
    }
}

Parsed labels(const uint8_t* data, size_t size) {
    try {
        std::vector<uint8_t> parsed = parseIdxLabels(data, size, "fuzz-labels");
        for (uint8_t l : parsed) require(l <= 9, "labels in 0-9");
        return {true, std::move(parsed)};
    } catch (const DataError& e) {
        require(std::string(e.what()).rfind("fuzz-labels", 0) == 0, "label messages name the file");
        return {};
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Parsed plainImages = images(data, size);
    const Parsed plainLabels = labels(data, size);
    const bool alreadyGzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (!alreadyGzip) {
        const std::vector<uint8_t> gz = fuzz::gzipBytes(data, size);
        const Parsed gzImages = images(gz.data(), gz.size());
        const Parsed gzLabels = labels(gz.data(), gz.size());
        require(gzImages.ok == plainImages.ok && gzImages.bytes == plainImages.bytes, "gzip and plain images agree");
        require(gzLabels.ok == plainLabels.ok && gzLabels.bytes == plainLabels.bytes, "gzip and plain labels agree");
    }
    return 0;
}
