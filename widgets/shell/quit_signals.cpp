// Signals through a socket pair into the event loop.
#include "widgets/shell/quit_signals.hpp"

#include <QSocketNotifier>

#include <cerrno>
#include <csignal>
#include <sys/socket.h>
#include <unistd.h>

namespace srigl::studio {
namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

volatile sig_atomic_t writeFd = -1;

void onSignal(int signal) {
    const int saved = errno; // the interrupted code may be about to read it
    const unsigned char number = static_cast<unsigned char>(signal);
    if (writeFd >= 0) {
        const ssize_t written = ::write(writeFd, &number, 1); // full: a signal is queued already
        (void)written;
    }
    errno = saved;
}

// The first signal of any of the three makes every one of them fatal again: a second Ctrl-C, or a
// SIGTERM after a SIGHUP, quits at once instead of waiting for the stop.
void restoreDefaultHandlers() {
    for (const int signal : kSignals) {
        struct sigaction old {};
        if (::sigaction(signal, nullptr, &old) == 0 && old.sa_handler == onSignal) std::signal(signal, SIG_DFL);
    }
}

} // namespace

QuitSignals::QuitSignals(QObject* parent) : QObject(parent) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds_) != 0) return; // signals stay fatal
    writeFd = fds_[0];
    notifier_ = new QSocketNotifier(fds_[1], QSocketNotifier::Read, this);
    connect(notifier_, &QSocketNotifier::activated, this, &QuitSignals::readSignal);
    struct sigaction action {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART | SA_RESETHAND;
    for (const int signal : kSignals) {
        // A signal ignored when the Studio started (nohup's SIGHUP) stays ignored.
        struct sigaction old {};
        if (::sigaction(signal, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        ::sigaction(signal, &action, nullptr);
    }
}

QuitSignals::~QuitSignals() {
    restoreDefaultHandlers();
    writeFd = -1;
    for (const int fd : fds_)
        if (fd >= 0) ::close(fd);
}

void QuitSignals::readSignal() {
    unsigned char number = 0;
    while (::read(fds_[1], &number, 1) == 1) {
        restoreDefaultHandlers();
        Q_EMIT received(number);
    }
}

} // namespace srigl::studio
