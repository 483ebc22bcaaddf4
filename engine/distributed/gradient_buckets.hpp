// Gradient averaging in buckets: consecutive gradients are packed into flat buffers of about
// `capElements` values, each bucket is all-reduced as one message (few large messages beat many
// small ones), then unpacked and divided by the world size.
#pragma once

#include "engine/distributed/process_group.hpp"

#include <cstdint>
#include <vector>

namespace srigl {

// Buckets as index lists over `numels`, in order; a tensor larger than the cap gets a bucket of
// its own, none is split. Throws std::invalid_argument for a cap < 1.
std::vector<std::vector<size_t>> planBuckets(const std::vector<int64_t>& numels, int64_t capElements);

class GradientAverager {
public:
    // `params`: the parameters whose .grad() is averaged (all of them must receive gradients).
    GradientAverager(std::vector<torch::Tensor> params, int64_t capElements);

    // After backward: every bucket's all-reduce is started before the first is waited for, so the
    // Gloo threads pipeline them.
    void average(ProcessGroup& group);
    size_t bucketCount() const { return buckets_.size(); }

private:
    std::vector<torch::Tensor> params_;
    std::vector<std::vector<size_t>> buckets_;
    std::vector<torch::Tensor> buffers_;
};

} // namespace srigl
