// What the c10d process groups (gloo_process_group.cpp, nccl_process_group.cpp) share: a c10d work
// handle behind our PendingCollective, and error text without LibTorch's backtraces. Included only by
// those translation units, after their c10d headers.
#pragma once

#include "engine/distributed/distributed_error.hpp"
#include "engine/distributed/process_group.hpp"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdint>

#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace srigl::c10d_support {

inline std::string messageOf(const std::exception& e) {
    if (const auto* t = dynamic_cast<const c10::Error*>(&e)) return t->what_without_backtrace();
    return e.what();
}

// A started collective. WorkPtr: c10::intrusive_ptr<c10d::Work> in 2.x, ProcessGroup::Work's in 1.13.
// Failure: the backend's, whose raise(what, e) throws DistributedError with the backend's advice.
template <typename WorkPtr, typename Failure>
class Pending : public PendingCollective {
public:
    Pending(WorkPtr work, Failure failure, std::string what)
        : work_(std::move(work)), failure_(std::move(failure)), what_(std::move(what)) {}
    void wait() override {
        try {
            work_->wait();
        } catch (const std::exception& e) {
            failure_.raise(what_, e);
        }
    }

private:
    WorkPtr work_;
    Failure failure_;
    std::string what_;
};

template <typename WorkPtr, typename Failure>
std::unique_ptr<PendingCollective> pending(WorkPtr work, Failure failure, std::string what) {
    return std::make_unique<Pending<WorkPtr, Failure>>(std::move(work), std::move(failure), std::move(what));
}

// LibTorch 2.4 and later serve and join the store through libuv by default (TCPStoreOptions::useLibUV,
// absent in 1.13), and a LibTorch built without libuv (Debian 13's 2.6) refuses that default: there
// the store is joined again with the classic backend, which every rank of that build then uses too.
template <typename Options, typename = void>
struct HasUseLibUV : std::false_type {};
template <typename Options>
struct HasUseLibUV<Options, std::void_t<decltype(std::declval<Options&>().useLibUV)>> : std::true_type {};

template <typename Options>
bool withoutLibUV(Options& options, const std::exception& failure) {
    if constexpr (HasUseLibUV<Options>::value) {
        if (options.useLibUV && std::string(failure.what()).find("libuv") != std::string::npos) {
            options.useLibUV = false;
            return true;
        }
    }
    return false;
}

// The rendezvous both backends start from: rank 0 serves a TCP store at MASTER_ADDR:MASTER_PORT and
// every rank joins it, giving up after `timeout`. Throws DistributedError saying what to check.
inline c10::intrusive_ptr<c10d::TCPStore> joinStore(const Rendezvous& where, std::chrono::milliseconds timeout) {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(where.masterPort);
    so.isServer = where.rank == 0;
    so.numWorkers = static_cast<std::size_t>(where.worldSize);
    so.waitWorkers = true;
    so.timeout = timeout;
    try {
        try {
            return c10::make_intrusive<c10d::TCPStore>(where.masterAddr, so);
        } catch (const std::exception& e) {
            if (!withoutLibUV(so, e)) throw;
        }
        return c10::make_intrusive<c10d::TCPStore>(where.masterAddr, so);
    } catch (const std::exception& e) {
        throw DistributedError("rank " + std::to_string(where.rank) + ": cannot join the TCP store at " +
                               where.masterAddr + ":" + std::to_string(where.masterPort) + " (" + messageOf(e) +
                               "); check MASTER_ADDR/MASTER_PORT and that all " + std::to_string(where.worldSize) +
                               " workers started");
    }
}

} // namespace srigl::c10d_support
