// SIGINT, SIGTERM and SIGHUP - Ctrl-C in the terminal that started the Studio, `kill`, a logout, a
// shutdown - as a Qt signal on the UI thread, so that the Studio stops its work as a quit does (the
// live run gets its final evaluation and checkpoint and is recorded as stopped, a sweep's point is
// stopped and recorded) instead of dying mid-step with up to a checkpoint interval of training
// lost. The C handler only writes the signal's number to a socket pair (async-signal-safe); a
// QSocketNotifier reads it. The first signal makes all three fatal again (SA_RESETHAND for its own,
// the others when it is read), so a second one quits at once.
#pragma once

#include <QObject>

class QSocketNotifier;

namespace srigl::studio {

class QuitSignals : public QObject {
    Q_OBJECT
public:
    // One at a time: the handlers write to this object's socket pair.
    explicit QuitSignals(QObject* parent = nullptr);
    ~QuitSignals() override; // the default handlers come back

Q_SIGNALS:
    void received(int signal);

private:
    void readSignal();

    QSocketNotifier* notifier_ = nullptr;
    int fds_[2] = {-1, -1};
};

} // namespace srigl::studio
