// Owns the live sessions::Session and polls its snapshot on the UI thread with a QTimer: the UI
// reads the latest value and never waits on training (nor on the store: see RecordedCurvesReader). Sessions still winding down after a new
// one started are kept until their worker has finished, so replacing a run never blocks.
#pragma once

#include "sessions/session/session.hpp"
#include "widgets/live/recorded_curves.hpp"
#include "widgets/common/session_history.hpp"

#include <QElapsedTimer>
#include <QMetaType>
#include <QObject>
#include <QString>

#include <memory>
#include <vector>

class QTimer;

namespace srigl::studio {

class SessionController : public QObject {
    Q_OBJECT
public:
    explicit SessionController(StoreReader& store, QObject* parent = nullptr);
    ~SessionController() override; // stops every session and waits for its worker (app exit)

    // dbPath empty: the run is not recorded.
    void start(const RunConfig& config, const QString& dbPath);
    // Continues recorded run `runId` of `dbPath` from its latest checkpoint, with the config it was
    // trained with (found on the session's thread: no store read here). A run that cannot be
    // continued ends at once with the reason (ended(Failed, ...)).
    void continueRun(const QString& dbPath, qint64 runId);
    void pause();
    void resume();
    void stepOnce();
    void stop();
    void checkpoint();

    bool hasSession() const { return session_ != nullptr; }
    bool isActive() const; // starting, running or paused
    const sessions::SessionSnapshot& snapshot() const { return snapshot_; }
    // The latest masks and weights the live run published (null before its first).
    std::shared_ptr<const sessions::LiveLayers> liveLayers() const { return live_; }
    // The latest publication when it is recorded run `runId` at `step` (what a view asked for that
    // step should draw instead of reading the store), else null.
    std::shared_ptr<const sessions::LiveLayers> liveAt(qint64 runId, qint64 step) const {
        return live_ && runId != 0 && live_->runId == runId && live_->step == step ? live_ : nullptr;
    }
    const SessionHistory& history() const { return history_; }
    const RunConfig& config() const { return config_; }
    QString databasePath() const { return dbPath_; }
    void setPollInterval(int ms);

Q_SIGNALS:
    void started();
    // Every poll that found something new (state, step, a curve point).
    void updated();
    void curvesChanged();
    // The live run published its masks and weights (its start, each mask update): emitted on the
    // UI thread as soon as the trainer's publication arrives, not on the poll.
    void liveLayersChanged(std::shared_ptr<const srigl::sessions::LiveLayers> layers);
    // The run reached finished, stopped or failed.
    void ended(sessions::SessionState state, const QString& error);

private:
    void launch(std::unique_ptr<sessions::Session> session);
    void poll();
    // Fills in the reports polling missed, from the store on a background read: at most one read
    // a second while training, and a last one after the run ended.
    void collectRecordedCurves();

    std::unique_ptr<sessions::Session> session_;
    std::vector<std::unique_ptr<sessions::Session>> retiring_;
    sessions::SessionSnapshot snapshot_;
    std::shared_ptr<const sessions::LiveLayers> live_;
    SessionHistory history_;
    RunConfig config_;
    QString dbPath_;
    QTimer* timer_ = nullptr;
    bool endReported_ = false;
    RecordedCurvesReader reader_;
    QElapsedTimer lastRead_;
    bool finalReadStarted_ = false;
    bool finalReadDone_ = false;
};

bool isTerminal(sessions::SessionState state);

} // namespace srigl::studio

Q_DECLARE_METATYPE(srigl::sessions::SessionState)
