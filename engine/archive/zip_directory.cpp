// Zip central directory: located and read as LibTorch 1.13's miniz reads it, so the records checked
// here are exactly the ones LibTorch will allocate for.
#include "engine/archive/zip_directory.hpp"

#include "engine/config/text_check.hpp"
#include "engine/errors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <utility>

namespace srigl {
namespace {

// Each record starts with "PK" and two bytes saying which record it is.
enum Signature : uint32_t {
    kLocalSignature = 0x04034b50,
    kCentralSignature = 0x02014b50,
    kEndSignature = 0x06054b50,
    kZip64EndSignature = 0x06064b50,
    kZip64LocatorSignature = 0x07064b50,
};
constexpr size_t kLocalSize = 30;
constexpr size_t kCentralSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kMaxComment = 65535;
constexpr uint32_t kZip64Marker = 0xFFFFFFFF; // a 32-bit field whose value is in the zip64 extra field
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kStored = 0;
constexpr uint16_t kDeflate = 8;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | static_cast<uint32_t>(le16(p + 2)) << 16; }
uint64_t le64(const uint8_t* p) { return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32; }

// "20.0 GiB", "64.0 MiB", "100 bytes": sizes in messages as a user reads them.
std::string sizeText(uint64_t bytes) {
    static const char* const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return std::to_string(bytes) + " bytes";
    double value = static_cast<double>(bytes) / 1024;
    size_t unit = 0;
    for (; value >= 1024 && unit + 1 < std::size(units); ++unit) value /= 1024;
    char text[32];
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
    return text;
}

// Reads the archive's structures, every range checked against its size first (in 64 bits that
// cannot wrap: the offsets are the file's claims).
class ArchiveReader {
public:
    ArchiveReader(ZipSource& source, const std::string& name) : source_(source), name_(name) {}

    uint64_t size() const { return source_.size(); }
    bool fits(uint64_t offset, uint64_t count) const { return offset <= size() && count <= size() - offset; }

    std::vector<uint8_t> read(uint64_t offset, size_t count, const std::string& what) {
        if (!fits(offset, count))
            fail(what + " (bytes " + std::to_string(offset) + " to " + std::to_string(offset + count) +
                 ") lies past the end of the archive (" + std::to_string(size()) + " bytes)");
        std::vector<uint8_t> bytes(count);
        if (count > 0) source_.readAt(offset, bytes.data(), count);
        return bytes;
    }

    [[noreturn]] void fail(const std::string& message) const { throw CheckpointError(name_ + ": " + message); }

private:
    ZipSource& source_;
    const std::string& name_;
};

// Where the central directory is and how many entries it holds, from the end records.
struct DirectoryExtent {
    uint64_t entries = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
};

// The last end-of-central-directory signature with a whole record after it, in the final 64 KiB +
// 22 bytes (the longest comment): the record miniz finds.
uint64_t findEndRecord(ArchiveReader& in) {
    const uint64_t window = std::min<uint64_t>(in.size(), kMaxComment + kEndSize);
    if (window < kEndSize) in.fail("not a zip archive (shorter than an end of central directory record)");
    const uint64_t start = in.size() - window;
    const std::vector<uint8_t> tail = in.read(start, static_cast<size_t>(window), "the end of the archive");
    for (size_t i = tail.size() - kEndSize + 1; i-- > 0;)
        if (le32(tail.data() + i) == kEndSignature) return start + i;
    in.fail("damaged or truncated zip archive (no end of central directory record)");
}

DirectoryExtent readExtent(ArchiveReader& in) {
    const uint64_t endOffset = findEndRecord(in);
    const std::vector<uint8_t> end = in.read(endOffset, kEndSize, "the end of central directory record");
    uint64_t disk = le16(&end[4]), directoryDisk = le16(&end[6]), entriesHere = le16(&end[8]);
    DirectoryExtent extent{le16(&end[10]), le32(&end[16]), le32(&end[12])};
    // The zip64 end record counts when its locator sits right before the end record, as miniz reads
    // it; torch.save writes one for archives past 4 GiB or 65535 records.
    if (endOffset >= kZip64LocatorSize + kZip64EndSize) {
        const auto locator = in.read(endOffset - kZip64LocatorSize, kZip64LocatorSize, "the zip64 locator");
        if (le32(&locator[0]) == kZip64LocatorSignature) {
            const auto zip64 = in.read(le64(&locator[8]), kZip64EndSize, "the zip64 end of central directory record");
            if (le32(&zip64[0]) == kZip64EndSignature) {
                if (le64(&zip64[4]) < kZip64EndSize - 12) in.fail("damaged zip64 end of central directory record");
                if (le32(&locator[16]) != 1) in.fail("a zip archive split over several disks, which is not read");
                disk = le32(&zip64[16]);
                directoryDisk = le32(&zip64[20]);
                entriesHere = le64(&zip64[24]);
                extent = {le64(&zip64[32]), le64(&zip64[48]), le64(&zip64[40])};
                // miniz's own limits: past them LibTorch refuses the archive anyway.
                if (extent.entries > UINT32_MAX || entriesHere > UINT32_MAX)
                    in.fail("claims " + std::to_string(extent.entries) + " records, more than a zip reader takes");
                if (extent.size > UINT32_MAX) in.fail("claims a central directory of " + sizeText(extent.size) + ", larger than 4 GiB");
            }
        }
    }
    if (entriesHere != extent.entries || ((disk | directoryDisk) != 0 && (disk != 1 || directoryDisk != 1)))
        in.fail("a zip archive split over several disks, which is not read");
    if (extent.entries > extent.size / kCentralSize)
        in.fail("claims " + std::to_string(extent.entries) + " records, more than its central directory of " +
                std::to_string(extent.size) + " bytes can hold (damaged archive)");
    if (!in.fits(extent.offset, extent.size))
        in.fail("its central directory (bytes " + std::to_string(extent.offset) + " to " +
                std::to_string(extent.offset + extent.size) + ") lies past the end of the archive (" +
                std::to_string(in.size()) + " bytes)");
    return extent;
}

// Takes the zip64 values (0x0001 extra field, in the order the zip spec gives) of the fields marked
// 0xFFFFFFFF; the first such field counts, as in miniz.
void applyZip64Extra(ArchiveReader& in, ZipEntry& entry, const uint8_t* extra, size_t extraSize, const std::string& what) {
    const bool wantUncompressed = entry.uncompressedSize == kZip64Marker;
    const bool wantCompressed = entry.compressedSize == kZip64Marker;
    const bool wantOffset = entry.localHeaderOffset == kZip64Marker;
    if (!wantUncompressed && !wantCompressed && !wantOffset) return;
    while (extraSize > 0) {
        if (extraSize < 4) in.fail(what + ": damaged extra field");
        const uint16_t id = le16(extra);
        const size_t fieldSize = le16(extra + 2);
        if (fieldSize + 4 > extraSize) in.fail(what + ": damaged extra field");
        if (id == kZip64ExtraId) {
            const uint8_t* field = extra + 4;
            size_t left = fieldSize;
            for (auto [want, value] : {std::pair{wantUncompressed, &entry.uncompressedSize},
                                       std::pair{wantCompressed, &entry.compressedSize},
                                       std::pair{wantOffset, &entry.localHeaderOffset}}) {
                if (!want) continue;
                if (left < 8) in.fail(what + ": zip64 extra field too short");
                *value = le64(field);
                field += 8;
                left -= 8;
            }
            return;
        }
        extra += 4 + fieldSize;
        extraSize -= 4 + fieldSize;
    }
    in.fail(what + ": its sizes are marked zip64 but it has no zip64 extra field (damaged archive)");
}

std::vector<ZipEntry> readEntries(ArchiveReader& in) {
    const DirectoryExtent extent = readExtent(in);
    std::vector<ZipEntry> entries;
    // Grown with the entries actually read: the count is a claim (bounded above by the directory's size).
    entries.reserve(static_cast<size_t>(std::min<uint64_t>(extent.entries, 4096)));
    uint64_t at = extent.offset;
    const uint64_t directoryEnd = extent.offset + extent.size;
    for (uint64_t i = 0; i < extent.entries; ++i) {
        const std::string what = "central directory entry " + std::to_string(i);
        if (directoryEnd - at < kCentralSize) in.fail(what + " runs past the central directory (damaged archive)");
        const std::vector<uint8_t> head = in.read(at, kCentralSize, what);
        if (le32(&head[0]) != kCentralSignature) in.fail(what + " is damaged (no central directory signature)");
        const size_t nameSize = le16(&head[28]), extraSize = le16(&head[30]), commentSize = le16(&head[32]);
        const uint64_t entrySize = kCentralSize + nameSize + extraSize + commentSize;
        if (directoryEnd - at < entrySize) in.fail(what + " runs past the central directory (damaged archive)");
        const std::vector<uint8_t> tail = in.read(at + kCentralSize, nameSize + extraSize, what);
        ZipEntry entry;
        entry.name.assign(tail.begin(), tail.begin() + static_cast<std::ptrdiff_t>(nameSize));
        entry.flags = le16(&head[8]);
        entry.method = le16(&head[10]);
        entry.crc32 = le32(&head[16]);
        entry.compressedSize = le32(&head[20]);
        entry.uncompressedSize = le32(&head[24]);
        entry.localHeaderOffset = le32(&head[42]);
        applyZip64Extra(in, entry, tail.data() + nameSize, extraSize, quoteForMessage(entry.name, 120));
        entries.push_back(std::move(entry));
        at += entrySize;
    }
    return entries;
}

// What LibTorch allocates for a compressed record is its claim: bounded by deflate's ratio and by the
// budget all compressed records share.
void checkCompressedClaim(ArchiveReader& in, const ZipEntry& entry, const std::string& what, uint64_t& inflatedTotal) {
    const uint64_t claim = entry.uncompressedSize;
    if (claim > kMaxInflatedZipBytes)
        in.fail(what + ": a compressed record that claims to inflate to " + sizeText(claim) +
                " (real torch.save files store records uncompressed); refusing it");
    if ((claim + kMaxDeflateRatio - 1) / kMaxDeflateRatio > entry.compressedSize) // claim > 1032 x compressed
        in.fail(what + ": a compressed record that claims to inflate to " + sizeText(claim) + " from " +
                std::to_string(entry.compressedSize) + " bytes, more than deflate can (damaged archive)");
    inflatedTotal += claim;
    if (inflatedTotal > kMaxInflatedZipBytes)
        in.fail(what + ": with the compressed records before it, claims to inflate to " + sizeText(inflatedTotal) +
                ", more than the " + sizeText(kMaxInflatedZipBytes) +
                " allowed (real torch.save files store records uncompressed); refusing it");
}

} // namespace

void ZipBytesSource::readAt(uint64_t offset, uint8_t* out, size_t count) { std::memcpy(out, data_ + offset, count); }

ZipFileSource::ZipFileSource(const std::string& path) : path_(path) {
    // O_NONBLOCK: a FIFO put in the file's place never blocks the open (it is refused below).
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) throw CheckpointError(path + ": cannot be read (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd_);
        throw CheckpointError(path + ": is not a regular file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
}

ZipFileSource::~ZipFileSource() { ::close(fd_); }

void ZipFileSource::readAt(uint64_t offset, uint8_t* out, size_t count) {
    while (count > 0) {
        const ssize_t got = ::pread(fd_, out, count, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw CheckpointError(path_ + ": cannot be read (" + std::strerror(errno) + ")");
        if (got == 0) throw CheckpointError(path_ + ": cannot be read (it became shorter while being read)");
        out += got;
        offset += static_cast<uint64_t>(got);
        count -= static_cast<size_t>(got);
    }
}

std::vector<ZipEntry> readZipDirectory(ZipSource& source, const std::string& name) {
    ArchiveReader in(source, name);
    return readEntries(in);
}

std::vector<ZipEntry> checkZipArchive(ZipSource& source, const std::string& name) {
    ArchiveReader in(source, name);
    std::vector<ZipEntry> entries = readEntries(in);
    uint64_t inflatedTotal = 0, storedTotal = 0;
    for (ZipEntry& entry : entries) {
        const std::string what = quoteForMessage(entry.name, 120);
        if (entry.flags & 1u) in.fail(what + ": an encrypted record, which LibTorch does not read; refusing it");
        if (entry.method != kStored && entry.method != kDeflate)
            in.fail(what + ": a record compressed with method " + std::to_string(entry.method) +
                    " (only stored and deflate records are read); refusing it");
        // The data starts after the local header's own name and extra field, as LibTorch finds it.
        const auto local = in.read(entry.localHeaderOffset, kLocalSize, what + ": its local header");
        if (le32(&local[0]) != kLocalSignature)
            in.fail(what + ": no local header at byte " + std::to_string(entry.localHeaderOffset) + " (damaged archive)");
        entry.dataOffset = entry.localHeaderOffset + kLocalSize + le16(&local[26]) + le16(&local[28]);
        if (!in.fits(entry.dataOffset, entry.compressedSize))
            in.fail(what + ": its data (bytes " + std::to_string(entry.dataOffset) + " to " +
                    std::to_string(entry.dataOffset + entry.compressedSize) + ") lies past the end of the archive (" +
                    std::to_string(in.size()) + " bytes)");
        // Records do not share bytes: together they hold at most the archive, whatever they point at.
        storedTotal += entry.compressedSize;
        if (storedTotal > in.size())
            in.fail(what + ": the records up to this one claim " + std::to_string(storedTotal) +
                    " bytes, more than the whole archive (" + std::to_string(in.size()) + " bytes): they overlap; refusing it");
        if (entry.method == kStored && entry.compressedSize != entry.uncompressedSize)
            in.fail(what + ": a stored record whose sizes disagree (" + std::to_string(entry.compressedSize) +
                    " bytes stored, " + std::to_string(entry.uncompressedSize) + " claimed; damaged archive)");
        if (entry.method == kDeflate) checkCompressedClaim(in, entry, what, inflatedTotal);
    }
    return entries;
}

} // namespace srigl
