// Turns a dataset split into normalised float batches: shuffled order per epoch, augmentation.
#pragma once

#include "engine/data/dataset.hpp"

namespace srigl {

struct Batch {
    torch::Tensor inputs; // float [B, C, H, W], normalised, on the requested device
    torch::Tensor targets; // int64 [B]
};

// The order of an epoch and the augmentation of a step are pure functions of (seed, epoch, step),
// so a resumed run draws exactly the batches an uninterrupted run would, with no RNG state to save.
class BatchSampler {
public:
    BatchSampler(const Dataset& data, int64_t batchSize, uint64_t seed, bool dropLast = true);

    int64_t batchesPerEpoch() const;
    // Training batch number `indexInEpoch` of epoch `epoch` (shuffled; augmented if the dataset says so).
    Batch trainBatch(int64_t epoch, int64_t indexInEpoch, const torch::Device& device) const;
    // Test batches in order, no augmentation; the last one may be short.
    int64_t testBatches() const;
    Batch testBatch(int64_t index, const torch::Device& device) const;

private:
    torch::Tensor epochOrder(int64_t epoch) const;
    torch::Tensor normalise(const torch::Tensor& uint8Images) const;

    const Dataset& data_;
    int64_t batchSize_;
    uint64_t seed_;
    bool dropLast_;
    mutable int64_t cachedEpoch_ = -1;
    mutable torch::Tensor cachedOrder_;
    torch::Tensor mean_; // [1, C, 1, 1]
    torch::Tensor invStd_;
};

} // namespace srigl
