// An in-memory image classification dataset (train and test splits) and its loader entry point.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

// One split: raw pixels stay uint8 [N, C, H, W] (CIFAR in float would need 600 MB); batches are
// normalised when they are drawn.
struct DatasetSplit {
    torch::Tensor images; // uint8 [N, C, H, W]
    torch::Tensor labels; // int64 [N]
    int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

struct Dataset {
    std::string name;
    DatasetSplit train;
    DatasetSplit test;
    int64_t channels = 1;
    int64_t height = 28;
    int64_t width = 28;
    int64_t numClasses = 10;
    std::vector<float> mean; // per channel, in [0, 1] pixel units
    std::vector<float> std;  // per channel
    bool augment = false;    // CIFAR-style pad-4 random crop + horizontal flip for training batches
};

// Names accepted by loadDataset.
std::vector<std::string> datasetNames();

// Loads "synthetic" (built-in digits, generated from seed; needs OpenCV), "synthetic_cifar" (built-in
// 3x32x32 colour images, generated from seed, laid out like cifar10), "mnist", "fashion_mnist" (IDX
// files, raw or .gz, in dataDir) or "cifar10" (binary batches in dataDir or dataDir/cifar-10-batches-bin).
// syntheticTrain/syntheticTest set the generated split sizes. Throws DataError with the file name
// and what is wrong when a file is missing, truncated or corrupt.
Dataset loadDataset(const std::string& name, const std::string& dataDir, uint64_t seed,
                    int64_t syntheticTrain = 20000, int64_t syntheticTest = 4000);

} // namespace srigl
