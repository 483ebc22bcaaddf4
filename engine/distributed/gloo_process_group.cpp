// ProcessGroup over c10d: TCPStore for the rendezvous, ProcessGroupGloo for the collectives. The
// only translation unit that includes c10d; without SRIGL_HAVE_C10D it reports that it is absent.
#include "engine/distributed/process_group.hpp"

#include "engine/distributed/distributed_error.hpp"

#ifdef SRIGL_HAVE_C10D
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO // ProcessGroupGloo.hpp declares its classes only with it
#endif
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "engine/distributed/c10d_work.hpp"
#endif

#include <cstdlib>

namespace srigl {

#ifdef SRIGL_HAVE_C10D
namespace {

using c10d_support::messageOf;
using c10d_support::pending;

class Failure {
public:
    Failure(int rank, std::chrono::milliseconds timeout) : rank_(rank), timeout_(timeout) {}
    [[noreturn]] void raise(const std::string& what, const std::exception& e) const {
        throw DistributedError("rank " + std::to_string(rank_) + ": " + what +
                               " failed: another worker died or did not answer within the timeout of " +
                               std::to_string(timeout_.count() / 1000) + " s, or the ranks disagree (" + messageOf(e) +
                               ")");
    }

private:
    int rank_;
    std::chrono::milliseconds timeout_;
};

bool isLoopback(const std::string& host) {
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

class GlooGroup : public ProcessGroup {
public:
    GlooGroup(const Rendezvous& where, std::chrono::milliseconds timeout)
        : rank_(where.rank), size_(where.worldSize), failure_(where.rank, timeout) {
        store_ = c10d_support::joinStore(where, timeout);
        try {
            auto options = c10d::ProcessGroupGloo::Options::create(timeout);
            // Workers on one host talk over loopback; across hosts, GLOO_SOCKET_IFNAME picks the
            // interface (as in PyTorch), else the address this host's name resolves to.
            const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
            if (ifname && *ifname) options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
            else if (isLoopback(where.masterAddr))
                options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            else options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, where.rank, where.worldSize, options);
        } catch (const std::exception& e) {
            failure_.raise("connecting the Gloo process group", e);
        }
    }

    int rank() const override { return rank_; }
    int size() const override { return size_; }

    std::unique_ptr<PendingCollective> allreduceAsync(torch::Tensor& tensor, ReduceKind kind,
                                                      const std::string& what) override {
        std::vector<torch::Tensor> tensors{tensor};
        c10d::AllreduceOptions opts;
        opts.reduceOp = kind == ReduceKind::Sum ? c10d::ReduceOp(c10d::ReduceOp::SUM) : c10d::ReduceOp(c10d::ReduceOp::MAX);
        try {
            return pending(group_->allreduce(tensors, opts), failure_, what);
        } catch (const std::exception& e) {
            failure_.raise(what, e);
        }
    }

    void broadcast(torch::Tensor& tensor, int root, const std::string& what) override {
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
        try {
            group_->barrier()->wait();
        } catch (const std::exception& e) {
            failure_.raise(what, e);
        }
    }

private:
    int rank_, size_;
    Failure failure_;
    c10::intrusive_ptr<c10d::Store> store_;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

} // namespace

bool distributedAvailable() { return true; }

std::shared_ptr<ProcessGroup> connectGloo(const Rendezvous& where, std::chrono::milliseconds timeout) {
    return std::make_shared<GlooGroup>(where, timeout);
}

#else

bool distributedAvailable() { return false; }

std::shared_ptr<ProcessGroup> connectGloo(const Rendezvous&, std::chrono::milliseconds) {
    throw DistributedError("this build has no distributed backend: LibTorch's c10d with Gloo was not found at "
                           "configure time (on Debian install libgloo-dev and re-run CMake; see docs/distributed.md)");
}

#endif

} // namespace srigl
