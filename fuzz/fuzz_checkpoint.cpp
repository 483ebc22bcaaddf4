// libFuzzer target: the checkpoint container's header and checksums (engine/training/
// checkpoint_file.hpp), read from memory as `srigl train --resume` reads a file. A file it accepts
// must encode back to exactly the same bytes; anything else must be a CheckpointError naming it. The
// header peek (peekCheckpointHeader) never throws and agrees with the whole read.
#include "engine/errors.hpp"
#include "engine/training/checkpoint_file.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace srigl;
using srigl::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The header alone, as a new run reads it before it replaces a file: never throws, and agrees
    // with the whole read on every container that read accepts.
    CheckpointHeader peeked;
    const bool peekedOk = peekCheckpointHeader(data, size, "fuzz.ckpt", peeked);
    const auto read = fuzz::parsedOrRefused<CheckpointError>("fuzz.ckpt", [&] { return decodeCheckpoint(data, size, "fuzz.ckpt"); });
    if (!read) return 0;
    if (!read->header.legacy)
        require(peekedOk && peeked.runUuid == read->header.runUuid && peeked.step == read->header.step,
                "the header peek agrees with the whole read");
    if (read->header.legacy)
        require(read->payload.size() == size, "a legacy archive is passed on whole");
    else
        require(encodeCheckpoint(read->header, read->payload) == std::string(reinterpret_cast<const char*>(data), size),
                "an accepted container encodes back to the same bytes");
    return 0;
}
