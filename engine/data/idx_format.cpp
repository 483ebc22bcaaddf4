// IDX: a big-endian header, then raw bytes. Every size is checked before a byte is trusted, and the
// declared size before a byte is allocated: a 100 GB sparse file or a gzip bomb costs nothing.
#include "engine/data/idx_format.hpp"

#include "engine/errors.hpp"

#include <cstdio>

namespace srigl {

namespace {

constexpr uint32_t kImageMagic = 0x00000803; // unsigned byte data, 3 dimensions
constexpr uint32_t kLabelMagic = 0x00000801; // unsigned byte data, 1 dimension
constexpr uint32_t kMaxSide = 4096;          // far above any real IDX image; catches garbage headers
constexpr uint64_t kImageHeader = 16;
constexpr uint64_t kLabelHeader = 8;
// Trailing bytes of a gzip stream counted for the message; past this the message says "at least".
constexpr uint64_t kTrailingCounted = uint64_t(1) << 20;

uint32_t bigEndian32(const uint8_t* p)
{
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string hex32(uint32_t v)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", v);
    return buf;
}

void checkMagic(const std::string& path, uint32_t found, uint32_t expected, const char* kind)
{
    if (found == expected)
        return;
    std::string msg = path + ": bad magic number " + hex32(found) + " (expected " + hex32(expected) +
                      " for an IDX " + kind + " file)";
    if (found == kImageMagic || found == kLabelMagic)
        msg += "; images and labels swapped?";
    throw DataError(msg);
}

DataError truncated(const std::string& path, uint64_t expected, uint64_t found)
{
    return DataError(path + ": truncated: expected " + std::to_string(expected) + " bytes, found " +
                     std::to_string(found));
}

DataError trailing(const std::string& path, uint64_t expected, uint64_t extra, bool atLeast)
{
    return DataError(path + ": " + (atLeast ? "at least " : "") + std::to_string(extra) +
                     " unexpected trailing bytes: expected " + std::to_string(expected) + " bytes" +
                     (atLeast ? "" : ", found " + std::to_string(expected + extra)));
}

// Reads the header: magic first, since a wrong kind of file is a clearer diagnosis than a short one.
void readHeader(DataStream& in, uint8_t* header, uint64_t headerBytes, uint32_t magic, const char* kind)
{
    const size_t got = in.read(header, headerBytes);
    const auto shortHeader = [&] {
        return DataError(in.name() + ": truncated: expected at least " + std::to_string(headerBytes) +
                         " header bytes, found " + std::to_string(got));
    };
    if (got < 4)
        throw shortHeader();
    checkMagic(in.name(), bigEndian32(header), magic, kind);
    if (got < headerBytes)
        throw shortHeader();
}

// Checks the content size the header declares (`total`, header included) against the limit and
// what the stream can hold, before anything is allocated for it.
void checkDeclared(DataStream& in, uint64_t total, const std::string& what)
{
    if (total > kMaxIdxBytes)
        throw DataError(in.name() + ": header declares " + what + " (" + std::to_string(total) +
                        " bytes), more than the limit of " + std::to_string(kMaxIdxBytes >> 20) +
                        " MiB for an IDX file");
    if (!in.compressed()) {
        const uint64_t found = in.storedSize();
        if (found < total)
            throw truncated(in.name(), total, found);
        if (found > total)
            throw trailing(in.name(), total, found - total, false);
    } else if (total > in.maxContentSize()) {
        throw DataError(in.name() + ": truncated: the header declares " + std::to_string(total) +
                        " bytes, but a gzip stream of " + std::to_string(in.storedSize()) +
                        " bytes holds at most " + std::to_string(in.maxContentSize()));
    }
}

// Reads the data after the header: exactly total - headerBytes bytes, then nothing more.
std::vector<uint8_t> readBody(DataStream& in, uint64_t total, uint64_t headerBytes)
{
    std::vector<uint8_t> body = readUpTo(in, total - headerBytes);
    if (body.size() < total - headerBytes)
        throw truncated(in.name(), total, headerBytes + body.size());
    const uint64_t extra = in.skip(kTrailingCounted);
    if (extra > 0)
        throw trailing(in.name(), total, extra, extra == kTrailingCounted);
    return body;
}

} // namespace

IdxImages parseIdxImages(DataStream& in)
{
    uint8_t header[kImageHeader];
    readHeader(in, header, kImageHeader, kImageMagic, "image");
    IdxImages out;
    out.count = bigEndian32(header + 4);
    out.rows = bigEndian32(header + 8);
    out.cols = bigEndian32(header + 12);
    if (out.count == 0)
        throw DataError(in.name() + ": holds no images");
    if (out.rows == 0 || out.cols == 0 || out.rows > kMaxSide || out.cols > kMaxSide)
        throw DataError(in.name() + ": implausible image size " + std::to_string(out.rows) + "x" +
                        std::to_string(out.cols));
    const uint64_t total = kImageHeader + uint64_t(out.count) * out.rows * out.cols;
    checkDeclared(in, total,
                  std::to_string(out.count) + " images of " + std::to_string(out.rows) + "x" +
                      std::to_string(out.cols));
    out.pixels = readBody(in, total, kImageHeader);
    return out;
}

std::vector<uint8_t> parseIdxLabels(DataStream& in)
{
    uint8_t header[kLabelHeader];
    readHeader(in, header, kLabelHeader, kLabelMagic, "label");
    const uint32_t count = bigEndian32(header + 4);
    if (count == 0)
        throw DataError(in.name() + ": holds no labels");
    const uint64_t total = kLabelHeader + uint64_t(count);
    checkDeclared(in, total, std::to_string(count) + " labels");
    std::vector<uint8_t> labels = readBody(in, total, kLabelHeader);
    for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] > 9)
            throw DataError(in.name() + ": label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                            " is outside 0-9");
    return labels;
}

IdxImages parseIdxImages(const uint8_t* data, size_t size, const std::string& name)
{
    DataStream in = DataStream::fromMemory(data, size, name);
    return parseIdxImages(in);
}

std::vector<uint8_t> parseIdxLabels(const uint8_t* data, size_t size, const std::string& name)
{
    DataStream in = DataStream::fromMemory(data, size, name);
    return parseIdxLabels(in);
}

} // namespace srigl
