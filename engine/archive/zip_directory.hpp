// The central directory of a zip archive (a torch.save file, a checkpoint's Torch archive) read and
// checked without LibTorch, so an archive that would make LibTorch's reader allocate gigabytes is
// refused first. Free of Torch, so it can be fuzzed (fuzz/fuzz_zip_directory.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

// LibTorch 1.13's zip reader (miniz, through PyTorchStreamReader::getRecord) allocates the size a
// record's directory entry claims, then inflates into it. No PyTorch writer compresses tensor data
// (torch.save and LibTorch store every record, 64-byte aligned); only a hand-made or re-zipped archive
// has compressed records, and then the small ones (pickles, version) are what matter to read. So the
// compressed records of an archive may claim at most this much, each and together: enough for any
// pickle, and a bomb (20 MB of deflated zeros claiming 20 GB) is refused before it is allocated.
constexpr uint64_t kMaxInflatedZipBytes = uint64_t{64} << 20;
// deflate's largest possible ratio: a record claiming more than this times its compressed size is damaged.
constexpr uint64_t kMaxDeflateRatio = 1032;

// One record of the central directory, zip64 sizes and offsets already applied.
struct ZipEntry {
    std::string name;
    uint16_t flags = 0;
    uint16_t method = 0; // 0 stored, 8 deflate
    uint32_t crc32 = 0;
    uint64_t compressedSize = 0;
    uint64_t uncompressedSize = 0;
    uint64_t localHeaderOffset = 0;
    uint64_t dataOffset = 0; // first byte of the record's data: set by checkZipArchive, 0 before
};

// Bytes read at offsets: a file (never read whole: a checkpoint can be many GB) or bytes in memory.
class ZipSource {
public:
    virtual ~ZipSource() = default;
    virtual uint64_t size() const = 0;
    // Exactly `count` bytes at `offset` (the caller keeps them inside size()). Throws CheckpointError
    // when they cannot be read.
    virtual void readAt(uint64_t offset, uint8_t* out, size_t count) = 0;
};

// Bytes in memory, not copied (they must outlive the source).
class ZipBytesSource final : public ZipSource {
public:
    ZipBytesSource(const void* data, size_t size) : data_(static_cast<const uint8_t*>(data)), size_(size) {}
    uint64_t size() const override { return size_; }
    void readAt(uint64_t offset, uint8_t* out, size_t count) override;

private:
    const uint8_t* data_;
    size_t size_;
};

// A regular file, read with pread. Throws CheckpointError naming `path` when it cannot be opened.
class ZipFileSource final : public ZipSource {
public:
    explicit ZipFileSource(const std::string& path);
    ~ZipFileSource() override;
    ZipFileSource(const ZipFileSource&) = delete;
    ZipFileSource& operator=(const ZipFileSource&) = delete;
    uint64_t size() const override { return size_; }
    void readAt(uint64_t offset, uint8_t* out, size_t count) override;

private:
    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
};

// The entries of the central directory, found as LibTorch's reader finds it (the last end-of-central-
// directory record in the final 64 KiB, the zip64 record when its locator precedes it). Checks that
// the directory lies inside the archive and that its entry count fits in it, so nothing is sized by
// a claimed count. Throws CheckpointError starting with "<name>: ".
std::vector<ZipEntry> readZipDirectory(ZipSource& source, const std::string& name);

// readZipDirectory, then every record checked as LibTorch will read it: not encrypted, stored (its two
// sizes equal) or deflate (claiming at most kMaxDeflateRatio times its compressed size, and at most
// kMaxInflatedZipBytes, alone and with the other compressed records), its local header and data inside
// the archive, and all records together no larger than the archive (no overlapping claims). Returns
// the entries with dataOffset set. Throws CheckpointError starting with "<name>: <record>: ".
std::vector<ZipEntry> checkZipArchive(ZipSource& source, const std::string& name);

} // namespace srigl
