// The --demo driver: default session, N steps, QWidget::grab, exit.
#include "widgets/shell/demo_mode.hpp"

#include "widgets/launch/launcher_panel.hpp"
#include "widgets/live/live_session_panel.hpp"
#include "widgets/runs/export_actions.hpp"
#include "widgets/shell/main_window.hpp"

#include <QCoreApplication>
#include <QImage>
#include <QPixmap>
#include <QTimer>

#include <cstdio>

namespace srigl::studio {

DemoMode::DemoMode(MainWindow& window, QString screenshotPath, int afterSteps, QObject* parent)
    : QObject(parent), window_(window), screenshotPath_(std::move(screenshotPath)), afterSteps_(afterSteps) {}

void DemoMode::start(int timeoutSeconds) {
    window_.launcher()->choosePreset(0); // the default session: synthetic digits, no download
    if (!window_.startFromLauncher()) {
        finish(1, QStringLiteral("the default config is invalid: ") +
                      QString::fromStdString(window_.launcher()->form()->check().message));
        return;
    }
    if (screenshotPath_.isEmpty()) return;
    connect(&window_.liveSession()->controller(), &SessionController::updated, this, &DemoMode::check);
    QTimer::singleShot(timeoutSeconds * 1000, this, [this, timeoutSeconds] {
        finish(2, QStringLiteral("fewer than %1 steps after %2 s").arg(afterSteps_).arg(timeoutSeconds));
    });
}

void DemoMode::check() {
    if (capturing_) return;
    const auto& s = window_.liveSession()->controller().snapshot();
    if (s.state == sessions::SessionState::Failed) {
        finish(1, QStringLiteral("the run failed: ") + QString::fromStdString(s.error));
        return;
    }
    if (s.step >= afterSteps_ || isTerminal(s.state)) {
        capturing_ = true;
        // Chart items repaint on the next event-loop passes; give them a moment before the grab.
        QTimer::singleShot(250, this, &DemoMode::capture);
    }
}

void DemoMode::capture() {
    const QPixmap picture = window_.grab();
    QString error; // a FIFO, a device or a full disk is a message, and the old file stays whole
    if (picture.isNull() || !savePngFile(picture.toImage(), screenshotPath_, &error)) {
        finish(1, QStringLiteral("cannot save the screenshot: ") + (error.isEmpty() ? screenshotPath_ : error));
        return;
    }
    const auto& s = window_.liveSession()->controller().snapshot();
    std::printf("screenshot %s after %lld steps (%dx%d)\n", qPrintable(screenshotPath_),
                static_cast<long long>(s.step), picture.width(), picture.height());
    std::fflush(stdout);
    finish(0, QString());
}

void DemoMode::finish(int code, const QString& message) {
    if (!message.isEmpty()) std::fprintf(stderr, "srigl-studio --demo: %s\n", qPrintable(message));
    // The window's session is stopped (and recorded as stopped) when the window goes away.
    window_.liveSession()->controller().stop();
    // Queued: start() may fail before the event loop runs, when exit() alone would be lost.
    QMetaObject::invokeMethod(
        QCoreApplication::instance(), [code] { QCoreApplication::exit(code); }, Qt::QueuedConnection);
}

} // namespace srigl::studio
