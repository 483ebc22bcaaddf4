// The live session dock: controls (start, pause, resume, step, stop, checkpoint), progress and
// ETA, loss and accuracy curves and the sparse layers' current state, all fed by a
// SessionController that polls the session's snapshot.
#pragma once

#include "widgets/live/session_controller.hpp"

#include <QWidget>

class QAction;
class QLabel;
class QProgressBar;
class QTableWidget;

namespace srigl::studio {

class CurveChart;
class StoreReader;

class LiveSessionPanel : public QWidget {
    Q_OBJECT
public:
    // Shows and steers `controller`, which the main window owns (it outlives the panel).
    explicit LiveSessionPanel(SessionController& controller, QWidget* parent = nullptr);

    SessionController& controller() { return *controller_; }
    // Starts a run of config, recorded into dbPath ("" to not record).
    void startSession(const RunConfig& config, const QString& dbPath);

    // The actions behind the buttons; the main window puts them in its menu with shortcuts.
    QAction* startAction() const { return start_; }
    QAction* pauseAction() const { return pause_; }
    QAction* resumeAction() const { return resume_; }
    QAction* stepAction() const { return step_; }
    QAction* stopAction() const { return stop_; }
    QAction* checkpointAction() const { return checkpoint_; }

    QString statusText() const;
    QString errorText() const;
    // "step 3.47 ms, dense twin 4.01 ms: 1.16x" (the run's mean ordinary step against the dense twin).
    QString timingText() const;
    CurveChart* lossChart() const { return loss_; }
    CurveChart* accuracyChart() const { return accuracy_; }

Q_SIGNALS:
    // Start pressed with no paused session to resume: the main window supplies the config.
    void startRequested();

private:
    void refresh();
    void refreshCurves();
    void refreshLayers();
    void updateActions();

    SessionController* controller_ = nullptr;
    QAction *start_, *pause_, *resume_, *step_, *stop_, *checkpoint_;
    QLabel* title_ = nullptr;
    QLabel* state_ = nullptr;
    QLabel* eta_ = nullptr;
    QLabel* timing_ = nullptr;
    QLabel* error_ = nullptr;
    QProgressBar* progress_ = nullptr;
    CurveChart* loss_ = nullptr;
    CurveChart* accuracy_ = nullptr;
    int trainLossCurve_ = 0, testLossCurve_ = 0, trainAccCurve_ = 0, testAccCurve_ = 0;
    QTableWidget* layers_ = nullptr;
    int64_t layersShownStep_ = -2;
};

} // namespace srigl::studio
