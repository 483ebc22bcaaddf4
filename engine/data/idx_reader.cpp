// IDX parsing: big-endian header, then raw bytes; every size is checked before a byte is trusted.
#include "engine/data/idx_reader.hpp"

#include "engine/data/file_bytes.hpp"
#include "engine/errors.hpp"

#include <cstdio>
#include <cstring>

namespace srigl {

namespace {

constexpr uint32_t kImageMagic = 0x00000803; // unsigned byte data, 3 dimensions
constexpr uint32_t kLabelMagic = 0x00000801; // unsigned byte data, 1 dimension
constexpr uint32_t kMaxSide = 4096;          // far above any real IDX image; catches garbage headers

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

void checkSize(const std::string& path, uint64_t expected, uint64_t found)
{
    if (found < expected)
        throw DataError(path + ": truncated: expected " + std::to_string(expected) + " bytes, found " +
                        std::to_string(found));
    if (found > expected)
        throw DataError(path + ": " + std::to_string(found - expected) +
                        " unexpected trailing bytes: expected " + std::to_string(expected) +
                        " bytes, found " + std::to_string(found));
}

void checkHeader(const std::string& path, const std::vector<uint8_t>& bytes, uint32_t magic, const char* kind,
                 uint64_t headerBytes)
{
    const auto truncated = [&] {
        return DataError(path + ": truncated: expected at least " + std::to_string(headerBytes) +
                         " header bytes, found " + std::to_string(bytes.size()));
    };
    if (bytes.size() < 4)
        throw truncated();
    checkMagic(path, bigEndian32(bytes.data()), magic, kind);
    if (bytes.size() < headerBytes)
        throw truncated();
}

// The first candidate that exists, or "" after adding what was looked for to `missing`.
std::string findFile(const std::string& dataDir, const std::string& name, std::string& missing)
{
    const std::string plain = dataDir + "/" + name;
    const std::string gz = plain + ".gz";
    if (isRegularFile(plain))
        return plain;
    if (isRegularFile(gz))
        return gz;
    missing += (missing.empty() ? "" : "; ") + name + " (looked for " + plain + " and " + gz + ")";
    return {};
}

} // namespace

torch::Tensor readIdxImages(const std::string& path)
{
    const std::vector<uint8_t> bytes = readFileBytes(path);
    constexpr uint64_t kHeader = 16;
    // Magic first: a wrong kind of file is a clearer diagnosis than a short header.
    checkHeader(path, bytes, kImageMagic, "image", kHeader);
    const uint32_t count = bigEndian32(bytes.data() + 4);
    const uint32_t rows = bigEndian32(bytes.data() + 8);
    const uint32_t cols = bigEndian32(bytes.data() + 12);
    if (count == 0)
        throw DataError(path + ": holds no images");
    if (rows == 0 || cols == 0 || rows > kMaxSide || cols > kMaxSide)
        throw DataError(path + ": implausible image size " + std::to_string(rows) + "x" +
                        std::to_string(cols));
    checkSize(path, kHeader + uint64_t(count) * rows * cols, bytes.size());

    auto images = torch::empty({int64_t(count), 1, int64_t(rows), int64_t(cols)}, torch::kUInt8);
    std::memcpy(images.data_ptr<uint8_t>(), bytes.data() + kHeader, bytes.size() - kHeader);
    return images;
}

torch::Tensor readIdxLabels(const std::string& path)
{
    const std::vector<uint8_t> bytes = readFileBytes(path);
    constexpr uint64_t kHeader = 8;
    checkHeader(path, bytes, kLabelMagic, "label", kHeader);
    const uint32_t count = bigEndian32(bytes.data() + 4);
    if (count == 0)
        throw DataError(path + ": holds no labels");
    checkSize(path, kHeader + uint64_t(count), bytes.size());

    auto labels = torch::empty({int64_t(count)}, torch::kLong);
    int64_t* out = labels.data_ptr<int64_t>();
    for (uint32_t i = 0; i < count; ++i) {
        const uint8_t label = bytes[kHeader + i];
        if (label > 9)
            throw DataError(path + ": label " + std::to_string(label) + " at index " +
                            std::to_string(i) + " is outside 0-9");
        out[i] = label;
    }
    return labels;
}

DatasetSplit readIdxSplit(const std::string& dataDir, const std::string& prefix)
{
    const std::string imageName = prefix + "-images-idx3-ubyte";
    const std::string labelName = prefix + "-labels-idx1-ubyte";
    if (!isDirectory(dataDir))
        throw DataError(dataDir + ": data directory does not exist (looked for " + imageName +
                        "[.gz] and " + labelName + "[.gz] in it)");
    // Both looked up before either is read, so one message names every missing file.
    std::string missing;
    const std::string imagePath = findFile(dataDir, imageName, missing);
    const std::string labelPath = findFile(dataDir, labelName, missing);
    if (!missing.empty())
        throw DataError(dataDir + ": missing " + missing);

    DatasetSplit split;
    split.images = readIdxImages(imagePath);
    split.labels = readIdxLabels(labelPath);
    if (split.images.size(0) != split.labels.size(0))
        throw DataError(imagePath + " has " + std::to_string(split.images.size(0)) + " images but " +
                        labelPath + " has " + std::to_string(split.labels.size(0)) + " labels");
    return split;
}

} // namespace srigl
