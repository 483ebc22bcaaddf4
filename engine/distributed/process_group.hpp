// The collectives a data-parallel run needs, behind a small interface of our own: the trainer
// never sees c10d, and a LibTorch without c10d/Gloo still builds (distributedAvailable() is false).
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

} // namespace srigl
