// libFuzzer target: the checkpoint container's header and checksums (engine/training/
// checkpoint_file.hpp), read from memory as `srigl train --resume` reads a file. A file it accepts
// must encode back to exactly the same bytes; anything else must be a CheckpointError naming it. The
// header peek (peekCheckpointHeader) never throws and agrees with the whole read, and the chunked
// verification that loading uses (verifyCheckpointFile, never the whole file in memory) accepts and
// refuses exactly what the whole read does, with the same header and message.
#include "engine/errors.hpp"
#include "engine/training/checkpoint_file.hpp"
#include "fuzz/fuzz_support.hpp"

#include <cstring>
#include <optional>
#include <string>

using namespace srigl;
using srigl::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The header alone, as a new run reads it before it replaces a file: never throws, and agrees
    // with the whole read on every container that read accepts.
    CheckpointHeader peeked;
    const bool peekedOk = peekCheckpointHeader(data, size, "fuzz.ckpt", peeked);
    std::string wholeMessage;
    std::optional<CheckpointBytes> read;
    try {
        read = decodeCheckpoint(data, size, "fuzz.ckpt");
    } catch (const CheckpointError& e) {
        wholeMessage = e.what();
        require(wholeMessage.find("fuzz.ckpt") != std::string::npos, "the message names the input");
    }
    std::string chunkedMessage;
    std::optional<CheckpointLayout> layout;
    try {
        layout = verifyCheckpointFile(
            size,
            [&](uint64_t at, uint8_t* out, size_t n) {
                require(at <= size && n <= size - at, "the chunked read stays inside the file");
                std::memcpy(out, data + at, n);
            },
            "fuzz.ckpt");
    } catch (const CheckpointError& e) {
        chunkedMessage = e.what();
    }
    require(layout.has_value() == read.has_value() && chunkedMessage == wholeMessage,
            "the chunked verification accepts and refuses what the whole read does");
    if (!read) return 0;
    require(layout->header.runUuid == read->header.runUuid && layout->header.step == read->header.step &&
                layout->header.legacy == read->header.legacy && layout->payloadStart == size - read->payload.size(),
            "the chunked verification finds the same header and payload");
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
