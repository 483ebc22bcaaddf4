// srigl-studio --demo: starts the default session in a main window and, with a screenshot path,
// saves a picture of the window after N training steps and quits (tests, documentation).
#pragma once

#include <QObject>
#include <QString>

namespace srigl::studio {

class MainWindow;

class DemoMode : public QObject {
    Q_OBJECT
public:
    // screenshotPath empty: only start the session and leave the window open.
    DemoMode(MainWindow& window, QString screenshotPath, int afterSteps, QObject* parent = nullptr);

    // Starts the default preset's session; the application exits 0 after the screenshot, 1 when
    // the run fails or the picture cannot be saved, 2 after timeoutSeconds without enough steps.
    void start(int timeoutSeconds = 600);

private:
    void check();
    void capture();
    void finish(int code, const QString& message);

    MainWindow& window_;
    QString screenshotPath_;
    int afterSteps_;
    bool capturing_ = false;
};

} // namespace srigl::studio
