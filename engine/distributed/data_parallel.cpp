#include "engine/distributed/data_parallel.hpp"

#include "engine/distributed/batch_shard.hpp"
#include "engine/distributed/mask_checksum.hpp"
#include "engine/errors.hpp"

#include <chrono>
#include <stdexcept>

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

std::vector<torch::Tensor> onDevice(std::vector<torch::Tensor> params, const torch::Device& device) {
    for (size_t i = 0; i < params.size(); ++i)
        if (params[i].device() != device)
            throw std::invalid_argument("DataParallel: parameter " + std::to_string(i) + " is on " +
                                        params[i].device().str() + ", the process group's collectives on " +
                                        device.str());
    return params;
}

} // namespace

std::shared_ptr<ProcessGroup> connectDataParallel(const Rendezvous& where, const std::string& device,
                                                  std::chrono::milliseconds timeout) {
    if (device.rfind("cuda", 0) != 0) {
        if (!distributedAvailable() && ncclAvailable())
            throw ConfigError("device", "this build has only NCCL (GPUs): data-parallel training on the CPU needs "
                                        "LibTorch's c10d with Gloo, which CMake did not find; use device=cuda");
        return connectGloo(where, timeout);
    }
    if (!ncclAvailable()) return connectNccl(where, timeout, where.localRank); // says what is missing
    // One GPU per worker, chosen by LOCAL_RANK as torchrun does; CUDA_VISIBLE_DEVICES narrows the choice.
    const int64_t gpus = static_cast<int64_t>(torch::cuda::device_count());
    if (gpus == 0)
        throw ConfigError("device", "device=cuda, but this worker sees no GPU (no driver, or CUDA_VISIBLE_DEVICES "
                                    "hides them)");
    if (where.localRank >= gpus)
        throw ConfigError("LOCAL_RANK", "LOCAL_RANK=" + std::to_string(where.localRank) + " names GPU " +
                                            std::to_string(where.localRank) + ", but this worker sees only " +
                                            std::to_string(gpus) + " GPU(s) (cuda:0.." + std::to_string(gpus - 1) +
                                            "): start at most " + std::to_string(gpus) +
                                            " workers per machine (one per GPU)");
    return connectNccl(where, timeout, where.localRank);
}

DataParallel::DataParallel(std::shared_ptr<ProcessGroup> group, std::vector<torch::Tensor> params,
                           const DataParallelOptions& options)
    : group_(std::move(group)), averager_(onDevice(std::move(params), group_->device()), options.bucketElements) {
    if (options.overlap) averager_.overlapWithBackward(*group_);
}

void DataParallel::averageGradients() {
    Stopwatch watch(seconds_);
    averager_.average(*group_);
}

void DataParallel::broadcastFromRankZero(const std::vector<torch::Tensor>& tensors, const std::string& what) {
    torch::NoGradGuard noGrad;
    Stopwatch watch(seconds_);
    // Gloo has no bool type: masks travel as bytes. Contiguous copies on the group's device travel,
    // then land in place (copy_ orders itself after the broadcast on a GPU's current stream).
    // One message per tensor: a start or an evaluation, never per step.
    const torch::Device device = group_->device();
    for (const auto& t : tensors) {
        auto wire = t.scalar_type() == torch::kBool ? t.to(device, torch::kUInt8).contiguous()
                                                    : t.detach().to(device).contiguous().clone();
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
    auto c = torch::tensor(values, torch::kDouble).to(group_->device());
    group_->allreduce(c, ReduceKind::Sum, what);
    // The copy back to the host waits for the all-reduce on a GPU (the caller needs the numbers now).
    c = c.cpu();
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
    // Hashed on the host (maskChecksum copies each mask there); the 2n doubles travel on the group's device.
    both = both.to(group_->device());
    group_->allreduce(both, ReduceKind::Max, "all-reduce of the mask checksums after step " + std::to_string(step));
    both = both.cpu();
    std::vector<double> minimum, maximum;
    for (size_t i = 0; i < n; ++i) {
        maximum.push_back(both[static_cast<int64_t>(i)].item<double>());
        minimum.push_back(-both[static_cast<int64_t>(n + i)].item<double>());
    }
    requireChecksumsAgree(names, minimum, maximum, step);
    return combinedChecksum(hashes);
}

} // namespace srigl
