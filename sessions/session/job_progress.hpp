// What a long job the Studio runs in the background (a bench, an analysis) reports while it runs,
// and how it says that it stopped because it was cancelled. No Torch here: Qt code includes it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace srigl::sessions {

struct JobProgress {
    int64_t done = 0, total = 0;
    std::string current; // what runs now, e.g. "fc1 batch 64"
};

// Thrown by a job whose cancel flag was set; nothing half-done is kept.
class JobCancelled : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace srigl::sessions
