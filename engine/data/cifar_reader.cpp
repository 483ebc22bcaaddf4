// CIFAR-10 binary parsing: fixed-size records, so the pixel planes map straight onto [N, 3, 32, 32].
#include "engine/data/cifar_reader.hpp"

#include "engine/data/file_bytes.hpp"
#include "engine/errors.hpp"

#include <cstring>

namespace srigl {

namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kPixels = 3 * kSide * kSide;
constexpr int64_t kRecord = 1 + kPixels;
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
        throw DataError(dataDir + ": data directory does not exist (looked for " + name + " in it and in " +
                        kSubdir + "/)");
    throw DataError(dataDir + ": missing " + name + " (looked for " + direct + " and " + nested + ")");
}

} // namespace

DatasetSplit readCifarBatch(const std::string& path)
{
    const std::vector<uint8_t> bytes = readFileBytes(path);
    const int64_t size = static_cast<int64_t>(bytes.size());
    if (size == 0 || size % kRecord != 0)
        throw DataError(path + ": size " + std::to_string(size) + " bytes is not a whole number of " +
                        std::to_string(kRecord) + "-byte records (truncated or not a CIFAR-10 batch)");
    const int64_t count = size / kRecord;

    DatasetSplit split;
    split.images = torch::empty({count, 3, kSide, kSide}, torch::kUInt8);
    split.labels = torch::empty({count}, torch::kLong);
    uint8_t* pixels = split.images.data_ptr<uint8_t>();
    int64_t* labels = split.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < count; ++i) {
        const uint8_t* record = bytes.data() + i * kRecord;
        if (record[0] > 9)
            throw DataError(path + ": label " + std::to_string(record[0]) + " in record " +
                            std::to_string(i) + " is outside 0-9");
        labels[i] = record[0];
        // The file stores the R, G and B planes one after another, already channel-first.
        std::memcpy(pixels + i * kPixels, record + 1, kPixels);
    }
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
