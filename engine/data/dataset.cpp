// loadDataset: picks the reader for a dataset name and fills in its shape and normalisation constants.
#include "engine/data/dataset.hpp"

#include "engine/data/cifar_reader.hpp"
#include "engine/data/idx_reader.hpp"
#include "engine/data/synthetic_cifar.hpp"
#include "engine/data/synthetic_digits.hpp"
#include "engine/errors.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <tuple>
#include <utility>

namespace srigl {

namespace {

std::string joinedNames()
{
    std::string all;
    for (const auto& n : datasetNames())
        all += (all.empty() ? "" : ", ") + n;
    return all;
}

// "Fashion-MNIST" and "CIFAR-10" as people write them map to the canonical names.
std::string canonicalName(const std::string& name)
{
    std::string out;
    for (char c : name) {
        if (c == '-')
            out += '_';
        else
            out += char(std::tolower(static_cast<unsigned char>(c)));
    }
    if (out == "fashionmnist")
        return "fashion_mnist";
    if (out == "cifar_10")
        return "cifar10";
    return out;
}

void requireDataDir(const std::string& name, const std::string& dataDir, const std::string& expects)
{
    if (dataDir.empty())
        throw ConfigError("data_dir", "dataset '" + name + "' is read from files: set data_dir to a folder with " +
                                          expects);
}

// Both splits of a file dataset must describe the same kind of image.
void checkSplitsAgree(const Dataset& d)
{
    const auto a = d.train.images.sizes().slice(1);
    const auto b = d.test.images.sizes().slice(1);
    if (a != b)
        throw DataError(d.name + ": train images are " + c10::str(a) + " but test images are " + c10::str(b));
}

// Per channel, the mean and (sample) standard deviation of the pixels in [0, 1] units, from 256-bin
// histograms: exact in double precision and without the 4x-larger float copy of the split.
std::pair<std::vector<float>, std::vector<float>> channelMeanStd(const torch::Tensor& uint8Images)
{
    const auto images = uint8Images.contiguous(); // [N, C, H, W]
    const uint8_t* p = images.data_ptr<uint8_t>();
    const int64_t count = images.size(0), channels = images.size(1);
    const int64_t plane = images.size(2) * images.size(3);
    std::vector<std::array<int64_t, 256>> histograms(size_t(channels), std::array<int64_t, 256>{});
    for (int64_t i = 0; i < count; ++i)
        for (int64_t c = 0; c < channels; ++c) {
            auto& histogram = histograms[size_t(c)];
            const uint8_t* pixels = p + (i * channels + c) * plane;
            for (int64_t k = 0; k < plane; ++k)
                ++histogram[pixels[k]];
        }
    std::vector<float> means, stds;
    const int64_t n = count * plane;
    for (const auto& histogram : histograms) {
        double sum = 0.0, sumSquares = 0.0;
        for (int v = 0; v < 256; ++v) {
            const double x = v / 255.0;
            sum += double(histogram[size_t(v)]) * x;
            sumSquares += double(histogram[size_t(v)]) * x * x;
        }
        const double mean = sum / double(n);
        const double variance = n > 1 ? (sumSquares - double(n) * mean * mean) / double(n - 1) : 0.0;
        means.push_back(float(mean));
        // A floor, so that a constant channel does not divide by zero when batches are normalised.
        stds.push_back(std::max(float(std::sqrt(std::max(variance, 0.0))), 1e-6f));
    }
    return {means, stds};
}

// The built-in sets: both split sizes must be positive (the config's own bounds are checked before).
void checkSyntheticCounts(int64_t syntheticTrain, int64_t syntheticTest)
{
    if (syntheticTrain <= 0)
        throw ConfigError("synthetic_train", "must be at least 1, got " + std::to_string(syntheticTrain));
    if (syntheticTest <= 0)
        throw ConfigError("synthetic_test", "must be at least 1, got " + std::to_string(syntheticTest));
}

void setShape(Dataset& d)
{
    d.channels = d.train.images.size(1);
    d.height = d.train.images.size(2);
    d.width = d.train.images.size(3);
}

} // namespace

std::vector<std::string> datasetNames()
{
    return {"synthetic", "synthetic_cifar", "mnist", "fashion_mnist", "cifar10"};
}

Dataset loadDataset(const std::string& requested, const std::string& dataDir, uint64_t seed,
                    int64_t syntheticTrain, int64_t syntheticTest)
{
    const std::string name = canonicalName(requested);
    Dataset d;
    d.name = name;
    d.numClasses = 10;

    if (name == "synthetic") {
        checkSyntheticCounts(syntheticTrain, syntheticTest);
        d.train = generateSyntheticDigits(syntheticTrain, seed, SyntheticSplit::Train);
        d.test = generateSyntheticDigits(syntheticTest, seed, SyntheticSplit::Test);
        setShape(d);
        // Statistics of the training split only, so the test split stays unseen.
        std::tie(d.mean, d.std) = channelMeanStd(d.train.images);
        return d;
    }

    if (name == "synthetic_cifar") {
        checkSyntheticCounts(syntheticTrain, syntheticTest);
        d.train = generateSyntheticCifar(syntheticTrain, seed, SyntheticSplit::Train);
        d.test = generateSyntheticCifar(syntheticTest, seed, SyntheticSplit::Test);
        setShape(d);
        std::tie(d.mean, d.std) = channelMeanStd(d.train.images);
        // The CIFAR-10 pipeline, crop and flip included: its classes are flip-invariant by design.
        d.augment = true;
        return d;
    }

    if (name == "mnist" || name == "fashion_mnist") {
        requireDataDir(name, dataDir,
                       "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                       "t10k-labels-idx1-ubyte (each may end in .gz)");
        d.train = readIdxSplit(dataDir, "train");
        d.test = readIdxSplit(dataDir, "t10k");
        checkSplitsAgree(d);
        setShape(d);
        if (name == "mnist") {
            d.mean = {0.1307f};
            d.std = {0.3081f};
        } else {
            d.mean = {0.2860f};
            d.std = {0.3530f};
        }
        return d;
    }

    if (name == "cifar10") {
        requireDataDir(name, dataDir,
                       "data_batch_1.bin .. data_batch_5.bin and test_batch.bin (or its cifar-10-batches-bin "
                       "subfolder)");
        d.train = readCifarTrain(dataDir);
        d.test = readCifarTest(dataDir);
        checkSplitsAgree(d);
        setShape(d);
        d.mean = {0.4914f, 0.4822f, 0.4465f};
        d.std = {0.2470f, 0.2435f, 0.2616f};
        d.augment = true;
        return d;
    }

    throw ConfigError("dataset", "unknown dataset '" + requested + "' (expected one of: " + joinedNames() + ")");
}

} // namespace srigl
