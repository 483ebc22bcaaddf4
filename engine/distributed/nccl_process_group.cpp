// ProcessGroup over c10d's NCCL backend, for data-parallel training on GPUs: the TCPStore rendezvous
// of the Gloo group, then ProcessGroupNCCL with one GPU per process. The only translation unit that
// includes ProcessGroupNCCL.hpp, which needs a CUDA LibTorch, the CUDA headers and nccl.h; without
// SRIGL_HAVE_NCCL (engine/distributed/distributed.cmake) it only says what is missing.
#include "engine/distributed/process_group.hpp"

#include "engine/distributed/distributed_error.hpp"
#include "engine/errors.hpp"

#ifdef SRIGL_HAVE_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL // ProcessGroupNCCL.hpp declares its classes only with it
#endif
#include <c10/cuda/CUDAFunctions.h>
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "engine/distributed/c10d_work.hpp"

#include <stdexcept>
#include <type_traits>
#include <utility>
#endif

namespace srigl {

#ifdef SRIGL_HAVE_NCCL
namespace {

using c10d_support::messageOf;
using c10d_support::pending;

class Failure {
public:
    Failure(int rank, int gpu, std::chrono::milliseconds timeout) : rank_(rank), gpu_(gpu), timeout_(timeout) {}
    [[noreturn]] void raise(const std::string& what, const std::exception& e) const {
        throw DistributedError("rank " + std::to_string(rank_) + ": " + what + " failed on NCCL (GPU " +
                               std::to_string(gpu_) + "): another worker died, did not answer within the timeout of " +
                               std::to_string(timeout_.count() / 1000) +
                               " s or disagrees, or NCCL refused the setup (" + messageOf(e) + ")");
    }

private:
    int rank_, gpu_;
    std::chrono::milliseconds timeout_;
};

// ProcessGroupNCCL::shutdown() exists from PyTorch 2.4 on (and warns from the destructor when it was
// not called); 1.13 has none and aborts its communicators in the destructor.
template <typename Group, typename = void>
struct HasShutdown : std::false_type {};
template <typename Group>
struct HasShutdown<Group, std::void_t<decltype(std::declval<Group&>().shutdown())>> : std::true_type {};

template <typename Group>
void shutDown(Group& group) {
    if constexpr (HasShutdown<Group>::value) group.shutdown();
}

class NcclGroup : public ProcessGroup {
public:
    NcclGroup(const Rendezvous& where, std::chrono::milliseconds timeout, int gpu)
        : rank_(where.rank), size_(where.worldSize), device_(torch::kCUDA, static_cast<c10::DeviceIndex>(gpu)),
          failure_(where.rank, gpu, timeout) {
        try {
            // As torch.cuda.set_device(local_rank) does: the trainer's model and batches (device
            // "cuda") and NCCL's communicator all land on this worker's GPU.
            c10::cuda::set_device(device_.index());
        } catch (const std::exception& e) {
            throw DistributedError("rank " + std::to_string(where.rank) + ": cannot use GPU " + std::to_string(gpu) +
                                   " (" + messageOf(e) + ")");
        }
        store_ = c10d_support::joinStore(where, timeout);
        try {
            // The communicator itself is created by the first collective (lazily, as in PyTorch).
            auto options = c10d::ProcessGroupNCCL::Options::create();
            options->timeout = timeout;
            group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, where.rank, where.worldSize, options);
        } catch (const std::exception& e) {
            failure_.raise("connecting the NCCL process group", e);
        }
    }

    ~NcclGroup() override {
        // The run has waited for every collective (and read results back to the host) before the
        // group goes: shutting it down is the normal exit, and avoids PyTorch's destructor warning.
        try {
            if (group_) shutDown(*group_);
        } catch (...) {
        }
    }

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    torch::Device device() const override { return device_; }

    std::unique_ptr<PendingCollective> allreduceAsync(torch::Tensor& tensor, ReduceKind kind,
                                                      const std::string& what) override {
        requireOnGpu(tensor, what);
        std::vector<torch::Tensor> tensors{tensor};
        c10d::AllreduceOptions opts;
        opts.reduceOp = kind == ReduceKind::Sum ? c10d::ReduceOp(c10d::ReduceOp::SUM) : c10d::ReduceOp(c10d::ReduceOp::MAX);
        try {
            // Queued on NCCL's stream after an event recorded on the caller's current stream: the
            // bucket copies queued before this call are complete when NCCL reads the bucket.
            return pending(group_->allreduce(tensors, opts), failure_, what);
        } catch (const std::exception& e) {
            failure_.raise(what, e);
        }
    }

    void broadcast(torch::Tensor& tensor, int root, const std::string& what) override {
        requireOnGpu(tensor, what);
        std::vector<torch::Tensor> tensors{tensor};
        c10d::BroadcastOptions opts;
        opts.rootRank = root;
        try {
            group_->broadcast(tensors, opts)->wait();
        } catch (const std::exception& e) {
            failure_.raise(what, e);
        }
    }

    void barrier(const std::string& what) override {
        // ProcessGroupNCCL::barrier guesses the GPU from the rank; an all-reduce on ours is a barrier
        // once the host has read its result.
        auto token = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat).device(device_));
        allreduceAsync(token, ReduceKind::Sum, what)->wait();
        try {
            (void)token.cpu();
        } catch (const std::exception& e) {
            failure_.raise(what, e);
        }
    }

private:
    void requireOnGpu(const torch::Tensor& t, const std::string& what) const {
        if (t.device() != device_)
            throw std::logic_error(what + ": the NCCL group's tensors must be on " + device_.str() + ", this one is on " +
                                   t.device().str());
    }

    int rank_, size_;
    torch::Device device_;
    Failure failure_;
    c10::intrusive_ptr<c10d::Store> store_;
    c10::intrusive_ptr<c10d::ProcessGroupNCCL> group_;
};

} // namespace

bool ncclAvailable() { return true; }

std::shared_ptr<ProcessGroup> connectNccl(const Rendezvous& where, std::chrono::milliseconds timeout, int deviceIndex) {
    return std::make_shared<NcclGroup>(where, timeout, deviceIndex);
}

#else

#ifndef SRIGL_NCCL_MISSING
#define SRIGL_NCCL_MISSING "CMake did not find it"
#endif

bool ncclAvailable() { return false; }

std::shared_ptr<ProcessGroup> connectNccl(const Rendezvous&, std::chrono::milliseconds, int) {
    throw ConfigError("device", std::string("data-parallel training on GPUs needs LibTorch's NCCL process group, "
                                            "which this build does not have: ") +
                                    SRIGL_NCCL_MISSING +
                                    " (build against a CUDA LibTorch with nccl.h; CMake prints 'Distributed "
                                    "training (c10d/NCCL)'; see docs/distributed.md), or train with device=cpu");
}

#endif

} // namespace srigl
