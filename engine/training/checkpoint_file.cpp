// Checkpoint container: encoding, verification and durable atomic writes.
#include "engine/training/checkpoint_file.hpp"

#include "engine/errors.hpp"
#include "engine/runtime/durable_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>
#include <vector>

namespace srigl {
namespace {

constexpr char kMagic[8] = {'S', 'R', 'I', 'G', 'L', 'C', 'K', 'P'};
constexpr uint32_t kFormat = 2;
constexpr uint32_t kMaxUuid = 64;
constexpr char kZipMagic[4] = {'P', 'K', 3, 4};

uint32_t crcOf(const uint8_t* data, size_t size, uint32_t seed = 0) {
    uLong crc = seed;
    // zlib takes uInt lengths: feed large payloads in pieces.
    while (size > 0) {
        const auto piece = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
        crc = crc32(crc, data, piece);
        data += piece;
        size -= piece;
    }
    return static_cast<uint32_t>(crc);
}

template <typename T>
void put(std::string& out, T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T)); // little-endian hosts only (x86_64, aarch64)
    out.append(bytes, sizeof(T));
}

// Reads fields front to back, refusing to run past the end.
class Cursor {
public:
    Cursor(const uint8_t* data, size_t size, const std::string& name) : data_(data), size_(size), name_(name) {}
    template <typename T>
    T take(const char* what) {
        need(sizeof(T), what);
        T value;
        std::memcpy(&value, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }
    std::string takeText(size_t n, const char* what) {
        need(n, what);
        std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
        pos_ += n;
        return s;
    }
    size_t pos() const { return pos_; }

private:
    void need(size_t n, const char* what) const {
        if (size_ - pos_ < n) throw CheckpointError("checkpoint '" + name_ + "' is truncated (in its " + what + ")");
    }
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
    const std::string& name_;
};

std::string systemReason() { return std::strerror(errno); }

// The container's header for a payload of `size` bytes whose CRC-32 is `crc`.
std::string headerBytes(const CheckpointHeader& header, uint64_t size, uint32_t crc) {
    if (header.runUuid.size() > kMaxUuid) throw CheckpointError("run identity longer than 64 bytes");
    std::string out(kMagic, sizeof kMagic);
    put<uint32_t>(out, kFormat);
    put<uint32_t>(out, static_cast<uint32_t>(header.runUuid.size()));
    out += header.runUuid;
    put<int64_t>(out, header.step);
    put<uint64_t>(out, size);
    put<uint32_t>(out, crc);
    put<uint32_t>(out, crcOf(reinterpret_cast<const uint8_t*>(out.data()), out.size()));
    return out;
}

// Writes the file's content into fd; returns 0 or the errno of a failed write. May throw (then the
// temporary file is removed and the exception passed on).
using BodyWriter = std::function<int(int fd)>;

} // namespace

std::string encodeCheckpoint(const CheckpointHeader& header, const std::string& payload) {
    std::string out =
        headerBytes(header, payload.size(), crcOf(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
    out.reserve(out.size() + payload.size());
    out += payload;
    return out;
}

namespace {

// The container's header at the start of a file of `fileSize` bytes, of which `data` holds the
// first `size` (all of the header, or the file is truncated): parsed and its own checksum checked.
// Returns where the payload starts (0 for a legacy bare archive) and its CRC.
struct ParsedHeader {
    size_t body = 0;
    uint32_t payloadCrc = 0;
};
ParsedHeader parseHeader(const uint8_t* data, size_t size, uint64_t fileSize, const std::string& name,
                         CheckpointHeader& header) {
    if (size >= sizeof kZipMagic && std::memcmp(data, kZipMagic, sizeof kZipMagic) == 0) {
        header.legacy = true;
        return {};
    }
    if (size < sizeof kMagic || std::memcmp(data, kMagic, sizeof kMagic) != 0)
        throw CheckpointError("'" + name + "' is not a SRigL Studio checkpoint");
    Cursor in(data, size, name);
    in.takeText(sizeof kMagic, "magic");
    const auto format = in.take<uint32_t>("format");
    if (format != kFormat)
        throw CheckpointError("checkpoint '" + name + "' has format " + std::to_string(format) +
                              ", this build reads format " + std::to_string(kFormat) + " (or is damaged)");
    const auto uuidSize = in.take<uint32_t>("identity");
    if (uuidSize > kMaxUuid) throw CheckpointError("checkpoint '" + name + "' is damaged (bad identity length)");
    header.runUuid = in.takeText(uuidSize, "identity");
    header.step = in.take<int64_t>("step");
    const auto payloadSize = in.take<uint64_t>("size");
    const auto payloadCrc = in.take<uint32_t>("checksum");
    const size_t headerEnd = in.pos();
    const auto headerCrc = in.take<uint32_t>("header checksum");
    if (crcOf(data, headerEnd) != headerCrc)
        throw CheckpointError("checkpoint '" + name + "' is damaged (its header checksum does not match)");
    const size_t body = in.pos();
    if (payloadSize != fileSize - body)
        throw CheckpointError("checkpoint '" + name + "' is damaged or truncated (" + std::to_string(fileSize - body) +
                              " bytes of data, its header says " + std::to_string(payloadSize) + ")");
    return {body, payloadCrc};
}

void requireDataCrc(uint32_t crc, const ParsedHeader& parsed, const std::string& name) {
    if (crc != parsed.payloadCrc)
        throw CheckpointError("checkpoint '" + name + "' is damaged (its data checksum does not match)");
}

// Verifies a whole checkpoint file held in memory and returns where its payload starts.
size_t verifiedPayloadStart(const uint8_t* data, size_t size, const std::string& name, CheckpointHeader& header) {
    const ParsedHeader parsed = parseHeader(data, size, size, name, header);
    if (!header.legacy) requireDataCrc(crcOf(data + parsed.body, size - parsed.body), parsed, name);
    return parsed.body;
}

} // namespace

void requireCheckpointFileExists(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw CheckpointError("checkpoint '" + path + "' does not exist");
    if (!std::filesystem::is_regular_file(path, ec))
        throw CheckpointError("checkpoint '" + path + "' is not a regular file");
}

CheckpointLayout verifyCheckpointFile(uint64_t size, const CheckpointReadAt& readAt, const std::string& name) {
    CheckpointLayout layout;
    // Longer than any header: magic, format, identity length, 64 bytes of identity, step, size, two CRCs.
    uint8_t head[128];
    const auto headSize = static_cast<size_t>(std::min<uint64_t>(size, sizeof head));
    readAt(0, head, headSize);
    const ParsedHeader parsed = parseHeader(head, headSize, size, name, layout.header);
    layout.payloadStart = parsed.body;
    if (layout.header.legacy) return layout;
    std::vector<uint8_t> chunk(std::min<uint64_t>(size - parsed.body, uint64_t{4} << 20));
    uint32_t crc = 0;
    for (uint64_t at = parsed.body; at < size;) {
        const auto n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - at));
        readAt(at, chunk.data(), n);
        crc = crcOf(chunk.data(), n, crc);
        at += n;
    }
    requireDataCrc(crc, parsed, name);
    return layout;
}

CheckpointBytes decodeCheckpoint(const uint8_t* data, size_t size, const std::string& name) {
    CheckpointBytes result;
    const size_t body = verifiedPayloadStart(data, size, name, result.header);
    result.payload.assign(reinterpret_cast<const char*>(data + body), size - body);
    return result;
}

CheckpointBytes readCheckpointFile(const std::string& path) {
    requireCheckpointFileExists(path);
    // One buffer of the file's size, read in place and verified there; the payload is that buffer
    // less the header. (Read through a stream iterator and then copied out, a checkpoint of a model
    // beyond dense memory cost up to three times its size at the peak.) A file that changes size
    // while it is read fails its checksums.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw CheckpointError("cannot open checkpoint '" + path + "': " + systemReason());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const std::string reason = systemReason();
        ::close(fd);
        throw CheckpointError("cannot read checkpoint '" + path + "': " + reason);
    }
    std::string bytes(static_cast<size_t>(std::max<off_t>(st.st_size, 0)), '\0');
    size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const std::string reason = systemReason();
            ::close(fd);
            throw CheckpointError("cannot read checkpoint '" + path + "': " + reason);
        }
        if (n == 0) break; // shorter than it was a moment ago
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    bytes.resize(got);
    CheckpointBytes result;
    const size_t body =
        verifiedPayloadStart(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path, result.header);
    bytes.erase(0, body);
    result.payload = std::move(bytes);
    return result;
}

bool peekCheckpointHeader(const uint8_t* data, size_t size, const std::string& name, CheckpointHeader& header) {
    if (size < sizeof kMagic || std::memcmp(data, kMagic, sizeof kMagic) != 0) return false;
    try {
        Cursor cur(data, size, name);
        cur.takeText(sizeof kMagic, "magic");
        if (cur.take<uint32_t>("format") != kFormat) return false;
        const auto uuidSize = cur.take<uint32_t>("identity");
        if (uuidSize > kMaxUuid) return false;
        CheckpointHeader h;
        h.runUuid = cur.takeText(uuidSize, "identity");
        h.step = cur.take<int64_t>("step");
        cur.take<uint64_t>("size");
        cur.take<uint32_t>("checksum");
        const size_t headerEnd = cur.pos();
        if (crcOf(data, headerEnd) != cur.take<uint32_t>("header checksum")) return false;
        header = h;
        return true;
    } catch (const CheckpointError&) {
        return false; // shorter than its header
    }
}

bool peekCheckpointHeader(const std::string& path, CheckpointHeader& header) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return false;
    std::ifstream in(path, std::ios::binary);
    // magic, format, identity length, identity (at most kMaxUuid), step, size, checksum, header checksum
    char head[sizeof kMagic + 4 + 4 + kMaxUuid + 8 + 8 + 4 + 4] = {};
    in.read(head, sizeof head);
    return peekCheckpointHeader(reinterpret_cast<const uint8_t*>(head), static_cast<size_t>(in.gcount()), path, header);
}

void requireCheckpointPath(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (fs::exists(st)) {
        if (fs::is_directory(st))
            throw ConfigError("checkpoint", "'" + path + "' is a folder; name a file in it, e.g. '" +
                                                (fs::path(path) / "run.ckpt").string() + "'");
        if (!fs::is_regular_file(st))
            throw ConfigError("checkpoint", "'" + path + "' exists and is not a regular file; refusing to write to it");
        if (fs::file_size(path, ec) > 0 && !looksLikeCheckpoint(path))
            throw ConfigError("checkpoint", "'" + path +
                                                "' exists and is not a SRigL Studio checkpoint; refusing to overwrite "
                                                "it (choose a new file name)");
    }
    const auto dir = fs::absolute(path, ec).parent_path();
    if (!fs::is_directory(dir, ec) || ::access(dir.c_str(), W_OK) != 0)
        throw ConfigError("checkpoint", "cannot write a checkpoint into '" + dir.string() + "' (missing or not writable)");
}

namespace {

// The atomic, durable, locked write of writeFileAtomically with the content from `body`; `ours` is
// the identity of the checkpoint being written (null: not a checkpoint).
void writeAtomically(const std::string& path, const std::string& kind, const BodyWriter& body,
                     const CheckpointHeader* ours) {
    const std::string tmp = path + ".tmp";
    bool created = false; // only a temporary file this call made (or took over) is removed on failure
    auto fail = [&](const std::string& what, int fd, int err) {
        if (created) std::remove(tmp.c_str()); // while still locked: nobody else can be using it
        if (fd >= 0) ::close(fd);
        throw CheckpointError("cannot write " + kind + " '" + path + "': " + what + (err ? ": " + std::string(std::strerror(err)) : "") +
                              (err == ENOSPC || err == EDQUOT ? " (the previous " + kind + ", if any, is kept)" : ""));
    };
    // The temporary file is locked from before it is written until after it is renamed: a second
    // process writing the same checkpoint at the same moment (two runs given one `checkpoint` file)
    // cannot truncate or interleave its bytes with ours and have a torn file renamed into place.
    // A temporary file left by a killed writer is unlocked and simply taken over.
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot create " + tmp, -1, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK)
            throw CheckpointError("cannot write " + kind + " '" + path + "': another process is writing it right now (" +
                                  tmp + " is locked)" +
                                  (kind == "checkpoint" ? "; two runs must not share one checkpoint file" : ""));
        fail("cannot lock " + tmp, -1, err);
    }
    created = true;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::ftruncate(fd, 0) != 0) fail("cannot truncate " + tmp, fd, errno);
    int written = 0;
    try {
        written = body(fd);
    } catch (...) {
        std::remove(tmp.c_str());
        ::close(fd);
        throw;
    }
    if (written != 0) fail("write failed", fd, written);
    // The data must be on disk before the rename makes it the checkpoint, or a power cut could
    // leave an empty file where a good one was.
    if (::fsync(fd) != 0 && errno != EINVAL) fail("fsync failed", fd, errno);
    // Another recorded run may have written this file since our run checked it at its start (both
    // started at once with one `checkpoint`): its checkpoint is not ours to replace.
    CheckpointHeader held;
    if (ours && peekCheckpointHeader(path, held) && !held.runUuid.empty() && !ours->runUuid.empty() &&
        held.runUuid != ours->runUuid)
        fail("it now holds the checkpoint of another run (identity " + held.runUuid +
                 "), which is kept; give each run its own checkpoint file",
             fd, 0);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename " + tmp + " into place", fd, errno);
    created = false; // renamed: nothing of ours is left to remove
    if (::close(fd) != 0) fail("close failed", -1, errno);
    syncFolder(std::filesystem::absolute(path).parent_path().string()); // the rename; the file is in place either way
}

} // namespace

void writeFileAtomically(const std::string& path, const std::string& bytes, const std::string& kind) {
    CheckpointHeader ours;
    const bool checkpoint = peekCheckpointHeader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path, ours);
    writeAtomically(
        path, kind, [&bytes](int fd) { return writeFully(fd, bytes.data(), bytes.size()); }, checkpoint ? &ours : nullptr);
}

void writeCheckpointAtomically(const std::string& path, const CheckpointHeader& header,
                               const std::function<void(const PayloadWriter& write)>& produce) {
    const std::string blank = headerBytes(header, 0, 0); // the same length as the final one
    writeAtomically(
        path, "checkpoint",
        [&](int fd) {
            if (const int err = writeFully(fd, blank.data(), blank.size())) return err;
            // Small pieces (the zip writer's headers and padding) are gathered into one write.
            constexpr size_t kBuffer = size_t{1} << 20;
            std::string buffer;
            buffer.reserve(kBuffer);
            uint64_t size = 0;
            uint32_t crc = 0;
            int err = 0;
            auto flush = [&] {
                if (err == 0 && !buffer.empty()) err = writeFully(fd, buffer.data(), buffer.size());
                buffer.clear();
            };
            produce([&](const void* data, size_t n) {
                const auto* bytes = static_cast<const uint8_t*>(data);
                size += n;
                crc = crcOf(bytes, n, crc);
                if (err != 0) return; // reported once the payload is complete
                if (buffer.size() + n <= kBuffer) {
                    buffer.append(reinterpret_cast<const char*>(bytes), n);
                    return;
                }
                flush();
                if (err == 0) err = writeFully(fd, bytes, n);
            });
            flush();
            if (err != 0) return err;
            const std::string final = headerBytes(header, size, crc);
            errno = 0;
            if (::pwrite(fd, final.data(), final.size(), 0) != static_cast<ssize_t>(final.size()))
                return errno != 0 ? errno : EIO; // a short write of a hundred bytes: the disk is full
            return 0;
        },
        &header);
}

} // namespace srigl
