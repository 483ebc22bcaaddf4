// Gradient averaging in buckets: consecutive gradients are packed into flat buffers of about
// `capElements` values, each bucket is all-reduced as one message (few large messages beat many
// small ones), then unpacked and divided by the world size.
#pragma once

#include "engine/distributed/process_group.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace srigl {

// Buckets as index lists over `numels`, in order; a tensor larger than the cap gets a bucket of
// its own, none is split. Throws std::invalid_argument for a cap < 1.
std::vector<std::vector<size_t>> planBuckets(const std::vector<int64_t>& numels, int64_t capElements);

class GradientAverager {
public:
    // `params`: the parameters whose .grad() is averaged (all of them must receive gradients), in
    // the model's order. Buckets are planned over the reversed order, the order in which backward
    // produces gradients (the classifier's first), so that early buckets fill early.
    GradientAverager(std::vector<torch::Tensor> params, int64_t capElements);
    ~GradientAverager();
    GradientAverager(const GradientAverager&) = delete;
    GradientAverager& operator=(const GradientAverager&) = delete;

    // From now on every backward packs each gradient into its bucket as autograd produces it, and
    // starts a bucket's all-reduce as soon as that bucket and every bucket before it are complete:
    // the same order on every rank (Gloo matches collectives by order), while backward goes on
    // with the earlier layers. average() then only waits for what is still in flight.
    void overlapWithBackward(ProcessGroup& group);

    // After backward: writes the average over the ranks into every parameter's .grad(). Without
    // overlap, every bucket is packed here and all of them are started before the first is waited
    // for, so that the Gloo threads pipeline them.
    void average(ProcessGroup& group);

    size_t bucketCount() const { return buckets_.size(); }
    // Buckets whose all-reduce started while backward still ran, in the last average() (overlap).
    size_t bucketsStartedDuringBackward() const { return lastStartedEarly_; }

private:
    void pack(size_t param, const torch::Tensor* fresh);
    void startReadyBuckets(ProcessGroup& group);

    std::vector<torch::Tensor> params_;
    std::vector<std::vector<size_t>> buckets_;
    std::vector<torch::Tensor> buffers_;
    std::vector<size_t> bucketOf_;
    std::vector<int64_t> offsetOf_;
    // Per step: which gradients are packed, how many each bucket still misses, what is in flight.
    std::vector<char> packed_;
    std::vector<size_t> missing_;
    std::vector<std::unique_ptr<PendingCollective>> inFlight_;
    size_t startedEarly_ = 0, lastStartedEarly_ = 0;
    ProcessGroup* overlapGroup_ = nullptr;
    std::vector<std::pair<size_t, unsigned>> hooks_; // (parameter, hook id)
    std::mutex mutex_; // autograd may run hooks on its own device threads (CUDA)
};

} // namespace srigl
