// BatchSampler: per-epoch shuffles and per-sample augmentation derived from hashes of (seed, epoch,
// sample), never from stateful RNGs, so any batch can be recomputed on its own.
#include "engine/data/batch_sampler.hpp"

#include "engine/data/seed_mix.hpp"
#include "engine/errors.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace srigl {

namespace {

constexpr int64_t kPad = 4; // CIFAR recipe: zero-pad 4 pixels, crop back to the original size

// Stream tags, so the shuffle of epoch e and the augmentation of epoch e draw unrelated numbers.
constexpr uint64_t kOrderStream = 0x6F72646572ull; // "order"
constexpr uint64_t kAugmentStream = 0x6175676D656Eull; // "augmen"

// A uniform integer in [0, bound) from random bits. The modulo bias (bound over the range of the
// bits) is negligible here, and unlike std::uniform_int_distribution the result is the same with
// every standard library, so shuffles match across platforms.
uint64_t below(uint64_t bits, uint64_t bound)
{
    return bits % bound;
}

// Shifts one image by (dx, dy) inside a zero border of kPad pixels and optionally mirrors it: the
// same result as pad-then-crop, without materialising the padded image.
void shiftAndFlip(const uint8_t* src, uint8_t* dst, int64_t channels, int64_t height, int64_t width,
                  int64_t dx, int64_t dy, bool flip)
{
    std::memset(dst, 0, size_t(channels * height * width));
    const int64_t x0 = std::max<int64_t>(0, -dx), x1 = std::min(width, width - dx); // dst columns with a source
    const int64_t y0 = std::max<int64_t>(0, -dy), y1 = std::min(height, height - dy);
    if (x0 >= x1 || y0 >= y1)
        return;
    for (int64_t c = 0; c < channels; ++c) {
        const uint8_t* plane = src + c * height * width;
        uint8_t* out = dst + c * height * width;
        for (int64_t y = y0; y < y1; ++y) {
            const uint8_t* from = plane + (y + dy) * width; // source row; column x reads from[x + dx]
            uint8_t* to = out + y * width;
            if (!flip) {
                std::memcpy(to + x0, from + x0 + dx, size_t(x1 - x0));
            } else {
                // Mirror after the shift: output column x takes shifted column width-1-x.
                for (int64_t x = 0; x < width; ++x) {
                    const int64_t sx = width - 1 - x;
                    to[x] = (sx >= x0 && sx < x1) ? from[sx + dx] : 0;
                }
            }
        }
    }
}

} // namespace

BatchSampler::BatchSampler(const Dataset& data, int64_t batchSize, uint64_t seed, bool dropLast)
    : data_(data), batchSize_(batchSize), seed_(seed), dropLast_(dropLast)
{
    if (batchSize <= 0)
        throw ConfigError("batch_size", "must be at least 1, got " + std::to_string(batchSize));
    for (const DatasetSplit* split : {&data.train, &data.test}) {
        if (!split->images.defined() || split->images.dim() != 4 || split->images.scalar_type() != torch::kUInt8)
            throw std::invalid_argument("BatchSampler: dataset '" + data.name +
                                        "' needs uint8 images of shape [N, C, H, W]");
        if (!split->images.is_contiguous() || split->images.device().type() != torch::kCPU)
            throw std::invalid_argument("BatchSampler: dataset '" + data.name +
                                        "' images must be contiguous CPU tensors");
    }
    if (data.train.size() == 0)
        throw DataError("dataset '" + data.name + "' has an empty training split");
    if (dropLast && data.train.size() < batchSize)
        throw ConfigError("batch_size", std::to_string(batchSize) + " is larger than the " +
                                            std::to_string(data.train.size()) + " training samples of '" +
                                            data.name + "'");

    const int64_t channels = data.train.images.size(1);
    std::vector<float> mean = data.mean;
    std::vector<float> deviation = data.std;
    // Missing statistics mean plain [0, 1] scaling; a single value serves every channel.
    if (mean.empty())
        mean.assign(size_t(channels), 0.0f);
    if (deviation.empty())
        deviation.assign(size_t(channels), 1.0f);
    if (mean.size() == 1)
        mean.assign(size_t(channels), mean[0]);
    if (deviation.size() == 1)
        deviation.assign(size_t(channels), deviation[0]);
    if (int64_t(mean.size()) != channels || int64_t(deviation.size()) != channels)
        throw std::invalid_argument("BatchSampler: dataset '" + data.name + "' has " + std::to_string(channels) +
                                    " channels but mean/std for " + std::to_string(mean.size()) + "/" +
                                    std::to_string(deviation.size()));
    std::vector<float> invStd(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
        if (!(deviation[size_t(c)] > 0.0f))
            throw std::invalid_argument("BatchSampler: dataset '" + data.name + "' has a non-positive std");
        invStd[size_t(c)] = 1.0f / deviation[size_t(c)];
    }
    mean_ = torch::tensor(mean).view({1, channels, 1, 1});
    invStd_ = torch::tensor(invStd).view({1, channels, 1, 1});
}

int64_t BatchSampler::batchesPerEpoch() const
{
    const int64_t n = data_.train.size();
    return dropLast_ ? n / batchSize_ : (n + batchSize_ - 1) / batchSize_;
}

int64_t BatchSampler::testBatches() const
{
    return (data_.test.size() + batchSize_ - 1) / batchSize_;
}

torch::Tensor BatchSampler::epochOrder(int64_t epoch) const
{
    // trainBatch is called batchesPerEpoch() times with the same epoch; shuffle once per epoch.
    if (epoch == cachedEpoch_ && cachedOrder_.defined())
        return cachedOrder_;
    const int64_t n = data_.train.size();
    torch::Tensor order = torch::empty({n}, torch::kLong);
    int64_t* p = order.data_ptr<int64_t>();
    std::iota(p, p + n, int64_t(0));
    // Fisher-Yates driven by a counter hash: the permutation depends on (seed, epoch) alone.
    const uint64_t key = mixSeed(mixSeed(seed_, kOrderStream), uint64_t(epoch));
    for (int64_t i = n - 1; i > 0; --i) {
        const auto j = int64_t(below(splitMix64(key + uint64_t(i)), uint64_t(i + 1)));
        std::swap(p[i], p[j]);
    }
    cachedEpoch_ = epoch;
    cachedOrder_ = order;
    return order;
}

torch::Tensor BatchSampler::normalise(const torch::Tensor& uint8Images) const
{
    // One fused pass, x * (invStd / 255) - mean * invStd, instead of a conversion and three tensor
    // operations over the batch: this runs every training step.
    const auto images = uint8Images.contiguous();
    const int64_t count = images.size(0), channels = images.size(1);
    const int64_t plane = images.size(2) * images.size(3);
    auto out = torch::empty(images.sizes(), torch::kFloat);
    const uint8_t* src = images.data_ptr<uint8_t>();
    float* dst = out.data_ptr<float>();
    const float* mean = mean_.data_ptr<float>();
    const float* invStd = invStd_.data_ptr<float>();
    for (int64_t i = 0; i < count; ++i) {
        for (int64_t c = 0; c < channels; ++c) {
            const float scale = invStd[c] / 255.0f;
            const float shift = mean[c] * invStd[c];
            const uint8_t* from = src + (i * channels + c) * plane;
            float* to = dst + (i * channels + c) * plane;
            for (int64_t k = 0; k < plane; ++k)
                to[k] = float(from[k]) * scale - shift;
        }
    }
    return out;
}

Batch BatchSampler::trainBatch(int64_t epoch, int64_t indexInEpoch, const torch::Device& device) const
{
    if (epoch < 0 || indexInEpoch < 0 || indexInEpoch >= batchesPerEpoch())
        throw std::out_of_range("BatchSampler::trainBatch: batch " + std::to_string(indexInEpoch) + " of epoch " +
                                std::to_string(epoch) + " (epoch has " + std::to_string(batchesPerEpoch()) +
                                " batches)");
    const int64_t n = data_.train.size();
    const int64_t begin = indexInEpoch * batchSize_;
    const int64_t end = std::min(n, begin + batchSize_);
    const torch::Tensor indices = epochOrder(epoch).slice(0, begin, end);

    torch::Tensor images = data_.train.images.index_select(0, indices);
    if (data_.augment) {
        const int64_t count = images.size(0), channels = images.size(1);
        const int64_t height = images.size(2), width = images.size(3);
        const int64_t sampleBytes = channels * height * width;
        torch::Tensor augmented = torch::empty_like(images);
        const uint8_t* src = images.data_ptr<uint8_t>();
        uint8_t* dst = augmented.data_ptr<uint8_t>();
        const int64_t* ids = indices.data_ptr<int64_t>();
        const uint64_t key = mixSeed(mixSeed(seed_, kAugmentStream), uint64_t(epoch));
        for (int64_t i = 0; i < count; ++i) {
            // Keyed by the sample's dataset index: the same image gets the same crop in an epoch,
            // whichever batch it lands in.
            const uint64_t bits = mixSeed(key, uint64_t(ids[i]));
            // Disjoint bit fields for the three choices keep them independent.
            const int64_t dx = int64_t(below(bits >> 40, 2 * kPad + 1)) - kPad;
            const int64_t dy = int64_t(below((bits >> 8) & 0xFFFFFFFFull, 2 * kPad + 1)) - kPad;
            const bool flip = (bits & 1u) != 0;
            shiftAndFlip(src + i * sampleBytes, dst + i * sampleBytes, channels, height, width, dx, dy, flip);
        }
        images = augmented;
    }
    Batch batch;
    batch.inputs = normalise(images).to(device);
    batch.targets = data_.train.labels.index_select(0, indices).to(device);
    return batch;
}

Batch BatchSampler::testBatch(int64_t index, const torch::Device& device) const
{
    if (index < 0 || index >= testBatches())
        throw std::out_of_range("BatchSampler::testBatch: batch " + std::to_string(index) + " (test split has " +
                                std::to_string(testBatches()) + " batches)");
    const int64_t begin = index * batchSize_;
    const int64_t end = std::min(data_.test.size(), begin + batchSize_);
    Batch batch;
    batch.inputs = normalise(data_.test.images.slice(0, begin, end)).to(device);
    batch.targets = data_.test.labels.slice(0, begin, end).to(device);
    return batch;
}

} // namespace srigl
