#include "engine/distributed/data_parallel.hpp"

#include "engine/distributed/batch_shard.hpp"
#include "engine/distributed/mask_checksum.hpp"

#include <chrono>

namespace srigl {
namespace {

// Adds the lifetime of the scope to a counter.
class Stopwatch {
public:
    explicit Stopwatch(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
    ~Stopwatch() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

private:
    double& total_;
    std::chrono::steady_clock::time_point start_;
};

} // namespace

DataParallel::DataParallel(std::shared_ptr<ProcessGroup> group, std::vector<torch::Tensor> params,
                           const DataParallelOptions& options)
    : group_(std::move(group)), averager_(std::move(params), options.bucketElements) {
    if (options.overlap) averager_.overlapWithBackward(*group_);
}

void DataParallel::averageGradients() {
    Stopwatch watch(seconds_);
    averager_.average(*group_);
}

void DataParallel::broadcastFromRankZero(const std::vector<torch::Tensor>& tensors, const std::string& what) {
    torch::NoGradGuard noGrad;
    Stopwatch watch(seconds_);
    // Gloo has no bool type: masks travel as bytes. Contiguous copies travel, then land in place.
    // One message per tensor: a start or an evaluation, never per step.
    for (const auto& t : tensors) {
        auto wire = t.scalar_type() == torch::kBool ? t.to(torch::kUInt8).contiguous() : t.detach().contiguous().clone();
        group_->broadcast(wire, 0, what);
        t.detach().copy_(wire.to(t.scalar_type()));
    }
}

Batch DataParallel::shard(const Batch& global) const {
    const ShardRange r = shardOf(global.targets.size(0), rank(), size());
    Batch local;
    local.inputs = global.inputs.slice(0, r.begin, r.end);
    local.targets = global.targets.slice(0, r.begin, r.end);
    return local;
}

std::vector<double> DataParallel::sum(const std::vector<double>& values, const std::string& what) {
    Stopwatch watch(seconds_);
    auto c = torch::tensor(values, torch::kDouble);
    group_->allreduce(c, ReduceKind::Sum, what);
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::string DataParallel::requireSameMasks(const std::vector<std::string>& names,
                                           const std::vector<torch::Tensor>& masks, int64_t step) {
    const size_t n = masks.size();
    std::vector<uint64_t> hashes;
    // [h, -h] under MAX gives max(h) and -min(h) in one message.
    auto both = torch::empty({static_cast<int64_t>(2 * n)}, torch::kDouble);
    for (size_t i = 0; i < n; ++i) {
        hashes.push_back(maskChecksum(masks[i]));
        both[static_cast<int64_t>(i)] = static_cast<double>(hashes.back());
        both[static_cast<int64_t>(n + i)] = -static_cast<double>(hashes.back());
    }
    Stopwatch watch(seconds_);
    group_->allreduce(both, ReduceKind::Max, "all-reduce of the mask checksums after step " + std::to_string(step));
    std::vector<double> minimum, maximum;
    for (size_t i = 0; i < n; ++i) {
        maximum.push_back(both[static_cast<int64_t>(i)].item<double>());
        minimum.push_back(-both[static_cast<int64_t>(n + i)].item<double>());
    }
    requireChecksumsAgree(names, minimum, maximum, step);
    return combinedChecksum(hashes);
}

} // namespace srigl
