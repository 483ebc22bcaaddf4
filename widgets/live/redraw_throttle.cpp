// Coalescing live redraws.
#include "widgets/live/redraw_throttle.hpp"

namespace srigl::studio {

RedrawThrottle::RedrawThrottle(int intervalMs, std::function<void()> redraw, QObject* parent)
    : QObject(parent), redraw_(std::move(redraw)), intervalMs_(intervalMs) {
    timer_.setSingleShot(true);
    timer_.setTimerType(Qt::PreciseTimer);
    connect(&timer_, &QTimer::timeout, this, &RedrawThrottle::run);
}

void RedrawThrottle::request() {
    if (timer_.isActive()) return; // the redraw already due takes this request's data too
    const qint64 since = last_.isValid() ? last_.elapsed() : -1;
    if (since < 0 || since >= intervalMs_) {
        run();
        return;
    }
    timer_.start(static_cast<int>(intervalMs_ - since));
}

void RedrawThrottle::cancel() { timer_.stop(); }

void RedrawThrottle::run() {
    timer_.stop();
    last_.start();
    ++redraws_;
    redraw_();
}

} // namespace srigl::studio
