// CIFAR-10 batches as tensors: parsing and checks are cifar_format's; this finds the batch files and
// hands the parsed planes to Torch without a copy.
#include "engine/data/cifar_reader.hpp"

#include "engine/data/cifar_format.hpp"
#include "engine/data/file_bytes.hpp"
#include "engine/data/owned_tensor.hpp"
#include "engine/errors.hpp"

namespace srigl {

namespace {

const char* const kSubdir = "cifar-10-batches-bin"; // what the official tarball unpacks to

// dataDir/name, else dataDir/cifar-10-batches-bin/name, else a DataError listing both.
std::string findBatch(const std::string& dataDir, const std::string& name)
{
    const std::string direct = dataDir + "/" + name;
    const std::string nested = dataDir + "/" + kSubdir + "/" + name;
    if (isRegularFile(direct))
        return direct;
    if (isRegularFile(nested))
        return nested;
    if (!isDirectory(dataDir))
        throw DataError(dataDir + ": " + notADirectoryReason(dataDir) + " (looked for " + name + " in it and in " +
                        kSubdir + "/)");
    throw DataError(dataDir + ": missing " + name + " (looked for " + direct + " and " + nested + ")");
}

} // namespace

DatasetSplit readCifarBatch(const std::string& path)
{
    DataStream in = DataStream::openFile(path);
    CifarBatch batch = parseCifarBatch(in);
    DatasetSplit split;
    split.images = tensorOwning(std::move(batch.pixels), {batch.count, 3, kCifarSide, kCifarSide});
    split.labels = tensorOwning(std::move(batch.labels), {batch.count}).to(torch::kLong);
    return split;
}

DatasetSplit readCifarTrain(const std::string& dataDir)
{
    // Find every file before reading any, so a missing batch fails fast and says which.
    std::vector<std::string> paths;
    for (int b = 1; b <= 5; ++b)
        paths.push_back(findBatch(dataDir, "data_batch_" + std::to_string(b) + ".bin"));
    std::vector<torch::Tensor> images;
    std::vector<torch::Tensor> labels;
    for (const auto& path : paths) {
        DatasetSplit part = readCifarBatch(path);
        images.push_back(std::move(part.images));
        labels.push_back(std::move(part.labels));
    }
    return DatasetSplit{torch::cat(images), torch::cat(labels)};
}

DatasetSplit readCifarTest(const std::string& dataDir)
{
    return readCifarBatch(findBatch(dataDir, "test_batch.bin"));
}

} // namespace srigl
