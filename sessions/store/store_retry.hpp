// A store write that matters too much to drop for a moment's lock: the final record of a run (its
// status, steps and test accuracy). While SQLite refuses it for a reason that may pass (another
// process holds the write lock beyond the busy timeout, the disk is full), it is tried again with
// a growing pause, for up to `grace`; then the last refusal is thrown.
#pragma once

#include "sessions/store/store_error.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace srigl::sessions {

template <typename Write>
void retryWhileItMayPass(Write write, std::chrono::milliseconds grace = std::chrono::seconds(30)) {
    const auto start = std::chrono::steady_clock::now();
    auto pause = std::chrono::milliseconds(250);
    for (;;) {
        try {
            write();
            return;
        } catch (const StoreError& e) {
            if (!e.mayPass() || std::chrono::steady_clock::now() - start + pause > grace) throw;
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(4000));
    }
}

} // namespace srigl::sessions
