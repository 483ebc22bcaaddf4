// What the trainer does differently in a data-parallel run, in one place: same start on every
// rank (broadcast from rank 0), a shard of each global batch, averaged gradients, globally reduced
// metrics, and the mask checksum after every mask update.
#pragma once

#include "engine/data/batch_sampler.hpp"
#include "engine/distributed/data_parallel_options.hpp"
#include "engine/distributed/gradient_buckets.hpp"
#include "engine/distributed/process_group.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace srigl {

// Joins a data-parallel run with the backend its device needs: NCCL on GPU LOCAL_RANK for device
// "cuda", Gloo for "cpu". Throws ConfigError ("device" when this build lacks that backend,
// "LOCAL_RANK" when it names a GPU this worker cannot see) or DistributedError (joining failed).
std::shared_ptr<ProcessGroup> connectDataParallel(const Rendezvous& where, const std::string& device,
                                                  std::chrono::milliseconds timeout);

// The tensors of every collective live on the group's device (the CPU for Gloo, this worker's GPU for
// NCCL); so must the parameters, whose gradient buckets are all-reduced in place.
class DataParallel {
public:
    DataParallel(std::shared_ptr<ProcessGroup> group, std::vector<torch::Tensor> params,
                 const DataParallelOptions& options = {});

    int rank() const { return group_->rank(); }
    int size() const { return group_->size(); }
    bool writes() const { return rank() == 0; } // records, checkpoints

    // Overwrites the tensors (parameters, buffers, boolean masks) with rank 0's, in place.
    void broadcastFromRankZero(const std::vector<torch::Tensor>& tensors, const std::string& what);
    // This rank's slice of a global batch (ConfigError when it does not split evenly).
    Batch shard(const Batch& global) const;
    // After backward: every .grad() holds the average over the ranks.
    void averageGradients();
    size_t bucketCount() const { return averager_.bucketCount(); }
    size_t bucketsStartedDuringBackward() const { return averager_.bucketsStartedDuringBackward(); }
    // Element-wise sum over the ranks of a few numbers (loss, correct predictions, samples).
    std::vector<double> sum(const std::vector<double>& values, const std::string& what);
    // All-reduces the layers' mask checksums and throws DistributedError naming the layers whose
    // masks differ between ranks. Returns the combined checksum (identical on every rank).
    std::string requireSameMasks(const std::vector<std::string>& names, const std::vector<torch::Tensor>& masks,
                                 int64_t step);
    // Seconds spent in collectives so far (including waiting for the slowest rank).
    double communicationSeconds() const { return seconds_; }

private:
    std::shared_ptr<ProcessGroup> group_;
    GradientAverager averager_;
    double seconds_ = 0.0;
};

} // namespace srigl
