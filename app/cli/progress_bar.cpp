// Terminal progress bar.
#include "progress_bar.hpp"

#include <cstdio>

namespace srigl::cli {

std::string formatDuration(double seconds) {
    if (seconds < 0) seconds = 0;
    const auto s = static_cast<int64_t>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                                 static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    else std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
    return buf;
}

ProgressBar::ProgressBar(int64_t total, int width)
    : total_(total > 0 ? total : 1), width_(width), start_(std::chrono::steady_clock::now()), lastDraw_(start_) {}

void ProgressBar::update(int64_t done, const std::string& suffix, bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && drawn_ && now - lastDraw_ < std::chrono::milliseconds(100)) return;
    lastDraw_ = now;
    drawn_ = true;
    const double frac = static_cast<double>(done) / static_cast<double>(total_);
    const int filled = static_cast<int>(frac * width_ + 0.5);
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double eta = done > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(static_cast<size_t>(width_), '-');
    std::fprintf(stderr, "\r\033[K[%s] %3d%% %lld/%lld ETA %s %s", bar.c_str(), static_cast<int>(frac * 100 + 0.5),
                 static_cast<long long>(done), static_cast<long long>(total_), formatDuration(eta).c_str(),
                 suffix.c_str());
    std::fflush(stderr);
}

void ProgressBar::finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
}

} // namespace srigl::cli
