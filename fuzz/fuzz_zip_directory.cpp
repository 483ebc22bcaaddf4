// libFuzzer target: the zip check in front of LibTorch's zip reader (engine/archive/zip_directory.hpp),
// fed a whole archive from memory as a checkpoint's payload is checked. It must return or throw
// CheckpointError naming the input, never crash, read outside the input or allocate by a claimed
// count; what it accepts must keep the promises LibTorch relies on: every record's local header and
// data lie inside the input, records together fit in it, and a compressed record claims no more
// than deflate's ratio and the inflate budget allow.
#include "engine/errors.hpp"
#include "engine/archive/zip_directory.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace srigl;
using srigl::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ZipBytesSource source(data, size);
    // The listing alone may accept more (it checks no record), never less.
    const auto listed = fuzz::parsedOrRefused<CheckpointError>("fuzz.zip", [&] { return readZipDirectory(source, "fuzz.zip"); });
    const auto checked = fuzz::parsedOrRefused<CheckpointError>("fuzz.zip", [&] { return checkZipArchive(source, "fuzz.zip"); });
    if (!checked) return 0;
    require(listed && listed->size() == checked->size(), "what the check accepts, the listing lists alike");
    uint64_t stored = 0, inflated = 0;
    for (size_t i = 0; i < checked->size(); ++i) {
        const ZipEntry& e = (*checked)[i];
        require(e.name == (*listed)[i].name && e.localHeaderOffset == (*listed)[i].localHeaderOffset,
                "the check lists the entries the listing does");
        require(e.localHeaderOffset <= size && size - e.localHeaderOffset >= 30 && e.dataOffset >= e.localHeaderOffset + 30,
                "a local header lies inside the input, before its data");
        require(e.dataOffset <= size && e.compressedSize <= size - e.dataOffset, "a record's data lies inside the input");
        require((e.flags & 1u) == 0, "no encrypted record");
        require(e.method == 0 || e.method == 8, "stored or deflate only");
        if (e.method == 0) require(e.compressedSize == e.uncompressedSize, "a stored record is what it claims");
        if (e.method == 8) {
            require(e.uncompressedSize <= e.compressedSize * kMaxDeflateRatio, "a compressed record within deflate's ratio");
            inflated += e.uncompressedSize;
        }
        stored += e.compressedSize;
    }
    require(stored <= size, "records together fit in the input");
    require(inflated <= kMaxInflatedZipBytes, "compressed records together within the inflate budget");
    return 0;
}
