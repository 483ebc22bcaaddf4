// IDX files as tensors: the parsing and every check are idx_format's; this adds the file lookup of a
// split and hands the parsed bytes to Torch without a copy.
#include "engine/data/idx_reader.hpp"

#include "engine/data/file_bytes.hpp"
#include "engine/data/idx_format.hpp"
#include "engine/data/owned_tensor.hpp"
#include "engine/errors.hpp"

namespace srigl {

namespace {

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
    DataStream in = DataStream::openFile(path);
    IdxImages parsed = parseIdxImages(in);
    return tensorOwning(std::move(parsed.pixels),
                        {int64_t(parsed.count), 1, int64_t(parsed.rows), int64_t(parsed.cols)});
}

torch::Tensor readIdxLabels(const std::string& path)
{
    DataStream in = DataStream::openFile(path);
    std::vector<uint8_t> labels = parseIdxLabels(in);
    const auto count = int64_t(labels.size());
    return tensorOwning(std::move(labels), {count}).to(torch::kLong);
}

DatasetSplit readIdxSplit(const std::string& dataDir, const std::string& prefix)
{
    const std::string imageName = prefix + "-images-idx3-ubyte";
    const std::string labelName = prefix + "-labels-idx1-ubyte";
    if (!isDirectory(dataDir))
        throw DataError(dataDir + ": " + notADirectoryReason(dataDir) + " (looked for " + imageName +
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
