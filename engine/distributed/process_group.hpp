// The collectives a data-parallel run needs, behind a small interface of our own: the trainer
// never sees c10d, and a LibTorch without c10d/Gloo or NCCL still builds (distributedAvailable(),
// ncclAvailable() are false).
#pragma once

#include "engine/distributed/rendezvous.hpp"

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace srigl {

enum class ReduceKind { Sum, Max };

// A collective started but not yet finished; wait() throws DistributedError when it failed.
class PendingCollective {
public:
    virtual ~PendingCollective() = default;
    virtual void wait() = 0;
};

class ProcessGroup {
public:
    virtual ~ProcessGroup() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // Where the tensors of its collectives must live: the CPU for Gloo, this worker's GPU for NCCL.
    virtual torch::Device device() const { return torch::Device(torch::kCPU); }
    // One tensor per call, in place, on every rank: contiguous, and of the same shape and type on
    // all ranks (c10d's tensor lists mean one tensor per local device, not several tensors).
    virtual std::unique_ptr<PendingCollective> allreduceAsync(torch::Tensor& tensor, ReduceKind kind,
                                                              const std::string& what) = 0;
    virtual void broadcast(torch::Tensor& tensor, int root, const std::string& what) = 0;
    virtual void barrier(const std::string& what) = 0;

    void allreduce(torch::Tensor& tensor, ReduceKind kind, const std::string& what) {
        allreduceAsync(tensor, kind, what)->wait();
    }
};

// True when this build has c10d with Gloo (CMake found the headers; SRIGL_HAVE_C10D).
bool distributedAvailable();

// Joins the run: TCP store on MASTER_ADDR:MASTER_PORT (rank 0 serves it), then a Gloo process
// group. Every collective and the rendezvous itself give up after `timeout`, so a dead or missing
// worker turns into a DistributedError instead of a hang. Throws DistributedError.
std::shared_ptr<ProcessGroup> connectGloo(const Rendezvous& where, std::chrono::milliseconds timeout);

// True when this build has c10d's NCCL process group (a CUDA LibTorch and nccl.h at configure time;
// SRIGL_HAVE_NCCL). Says nothing about GPUs being visible.
bool ncclAvailable();

// Joins the run on GPU `deviceIndex` (LOCAL_RANK): makes it this thread's current CUDA device (as
// torch.cuda.set_device does, so that tensors created for "cuda" land there), then the same TCP store
// as connectGloo and an NCCL process group whose collectives run on NCCL's own CUDA stream, ordered
// after the work already queued on the current stream. The group's tensors must be on that GPU.
// Throws ConfigError("device") when this build has no NCCL, DistributedError when joining fails.
std::shared_ptr<ProcessGroup> connectNccl(const Rendezvous& where, std::chrono::milliseconds timeout, int deviceIndex);

} // namespace srigl
