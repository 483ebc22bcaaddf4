// A one-line terminal progress bar with ETA, redrawn in place on stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace srigl::cli {

class ProgressBar {
public:
    explicit ProgressBar(int64_t total, int width = 28);
    // Redraws at most ~10 times a second unless force is set.
    void update(int64_t done, const std::string& suffix, bool force = false);
    void finish();

private:
    int64_t total_;
    int width_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point lastDraw_;
    bool drawn_ = false;
};

std::string formatDuration(double seconds);

} // namespace srigl::cli
