// The checkpoint file container: a small header (magic, format, the run's identity, the step, the
// payload's size and CRC-32, a CRC of the header itself) in front of the serialized Torch archive.
// Every byte is covered by a checksum, so a damaged file is refused instead of resumed, and a file
// is known to be ours (or not) without parsing the archive. Free of Torch, so it can be fuzzed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <cstdint>
#include <functional>
#include <string>

namespace srigl {

struct CheckpointHeader {
    std::string runUuid; // the recorded run it belongs to; "" for a run that is not recorded
    int64_t step = 0;
    bool legacy = false; // read from a file written before the container existed (no identity)
};

struct CheckpointBytes {
    CheckpointHeader header;
    std::string payload; // the Torch archive (a zip); header.legacy: a bare archive, no checksum
};

// The bytes of a checkpoint file holding `payload`.
std::string encodeCheckpoint(const CheckpointHeader& header, const std::string& payload);

// Parses and verifies a whole checkpoint file held in memory. `name` is used in messages. A bare
// Torch archive (zip magic) is accepted as legacy, unverified. Throws CheckpointError.
CheckpointBytes decodeCheckpoint(const uint8_t* data, size_t size, const std::string& name);

// Reads and verifies `path` (CheckpointError naming it when missing, not a regular file, not a
// checkpoint, or damaged).
CheckpointBytes readCheckpointFile(const std::string& path);

// Throws CheckpointError ("checkpoint '<path>' does not exist" / "... is not a regular file").
void requireCheckpointFileExists(const std::string& path);

// Verifies a checkpoint file of `size` bytes read through `readAt` (exactly `count` bytes at
// `offset`, or it throws) without holding it: the header and its checksum, the size, then the
// payload's CRC-32 in chunks of 4 MiB. Returns the header and where the payload (the Torch archive)
// starts in the file: 0 for a legacy bare archive, which is not verified. Throws CheckpointError
// naming `name` as decodeCheckpoint does.
using CheckpointReadAt = std::function<void(uint64_t offset, uint8_t* out, size_t count)>;
struct CheckpointLayout {
    CheckpointHeader header;
    uint64_t payloadStart = 0;
};
CheckpointLayout verifyCheckpointFile(uint64_t size, const CheckpointReadAt& readAt, const std::string& name);

// The identity and step in the header of the checkpoint at `path`, reading only the header (its
// own checksum is checked, the payload's is not): what a writer needs to know before it replaces
// the file. False when `path` is missing, not a regular file, legacy, or not a sound container.
bool peekCheckpointHeader(const std::string& path, CheckpointHeader& header);
// The same on the first `size` bytes of a file (fuzz/fuzz_checkpoint.cpp); `name` for messages.
bool peekCheckpointHeader(const uint8_t* data, size_t size, const std::string& name, CheckpointHeader& header);

// True when `path` holds the start of a SRigL checkpoint (the container's magic) or of a legacy
// bare Torch archive (a zip whose first entry is one of LibTorch's: <name>/data/0, <name>/data.pkl,
// ...). Reads only the first bytes.
// Inline: the store, which links no engine code, checks files with it before deleting them.
inline bool looksLikeCheckpoint(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char head[64] = {};
    in.read(head, sizeof head);
    const auto got = static_cast<size_t>(in.gcount());
    if (got >= 8 && std::memcmp(head, "SRIGLCKP", 8) == 0) return true;
    if (got < 30 || std::memcmp(head, "PK\x03\x04", 4) != 0) return false;
    const size_t nameSize = static_cast<uint8_t>(head[26]) | (static_cast<size_t>(static_cast<uint8_t>(head[27])) << 8);
    const std::string name(head + 30, std::min(nameSize, got - 30));
    const size_t slash = name.find('/');
    if (name.size() != nameSize || slash == std::string::npos) return false;
    const std::string entry = name.substr(slash + 1);
    return entry.rfind("data/", 0) == 0 || entry == "data.pkl" || entry == "version" || entry == "constants.pkl";
}

// Throws ConfigError (key `checkpoint`) unless `path` can take a checkpoint: its folder exists
// and is writable, and `path` is new, empty or already a SRigL checkpoint. A folder, a device, a
// database or any other file is refused before training, never overwritten after it.
void requireCheckpointPath(const std::string& path);

// Writes `bytes` to `path` atomically and durably: a temporary file beside it is written in full,
// flushed to disk, then renamed over `path` (and the folder synced). Any failure (a full disk, a
// read-only folder) throws CheckpointError naming the path and the system's reason; `path` then
// still holds what it held before and the temporary file is removed. The temporary file is locked
// while in use, so a second writer of the same path at the same moment fails clearly instead of
// tearing the file; and a checkpoint of another recorded run found at `path` (by the identities in
// the headers) is never replaced. `kind` names the file in messages ("cannot write <kind> '<path>'").
void writeFileAtomically(const std::string& path, const std::string& bytes, const std::string& kind = "checkpoint");

// Hands one piece of a payload to the file being written. It never throws and never fails: a
// write error is kept and reported when the payload is complete, so that a serializer calling it
// (LibTorch's zip writer, which throws from its destructor when a write fails during unwinding)
// only ever sees success.
using PayloadWriter = std::function<void(const void* data, size_t size)>;

// The same file as writeFileAtomically(path, encodeCheckpoint(header, payload)), written as
// `produce` makes the payload, piece by piece through the writer it is given: the payload is never
// held in memory (a checkpoint of a model beyond dense memory is a gigabyte and more; in memory it
// cost twice that at its peak). The header goes first with its size and CRC left blank and is
// rewritten once the payload is complete. Throws CheckpointError as writeFileAtomically does; an
// exception from `produce` is passed on after the temporary file is removed. `path` keeps its
// previous content on any failure.
void writeCheckpointAtomically(const std::string& path, const CheckpointHeader& header,
                               const std::function<void(const PayloadWriter& write)>& produce);

} // namespace srigl
