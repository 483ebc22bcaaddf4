// Redraws of a view that follows the live run, coalesced to a rate the eye reads. A run publishes
// its masks many times a second; a chart or table redrawn at every publication takes the UI
// thread from the mask inspector, whose frames are the ones that must keep up (docs/studio.md,
// "Live frame budget"). request() redraws at once when the last redraw is older than the interval,
// else once when the interval has passed, with whatever is latest then: what a view shows is never
// older than one interval, and a burst of publications costs one redraw.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <functional>

namespace srigl::studio {

class RedrawThrottle : public QObject {
    Q_OBJECT
public:
    RedrawThrottle(int intervalMs, std::function<void()> redraw, QObject* parent = nullptr);

    void request();
    // A redraw asked for but not run yet is dropped (the view shows something else now).
    void cancel();
    bool pending() const { return timer_.isActive(); }
    int intervalMs() const { return intervalMs_; }
    int redraws() const { return redraws_; }

private:
    void run();

    QTimer timer_;
    QElapsedTimer last_;
    std::function<void()> redraw_;
    int intervalMs_;
    int redraws_ = 0;
};

} // namespace srigl::studio
