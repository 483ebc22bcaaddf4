// Session lifetime and snapshot polling for the Studio.
#include "widgets/live/session_controller.hpp"

#include "sessions/session/recorded_run.hpp"

#include <QMetaObject>
#include <QTimer>

#include <algorithm>

namespace srigl::studio {

using sessions::SessionState;

bool isTerminal(SessionState s) {
    return s == SessionState::Finished || s == SessionState::Stopped || s == SessionState::Failed;
}

SessionController::SessionController(StoreReader& store, QObject* parent) : QObject(parent), timer_(new QTimer(this)), reader_(store) {
    qRegisterMetaType<std::shared_ptr<const sessions::LiveLayers>>();
    timer_->setInterval(50); // 20 Hz: smooth curves, negligible cost (one short lock per poll)
    connect(timer_, &QTimer::timeout, this, &SessionController::poll);
}

SessionController::~SessionController() {
    // ~Session stops the run and joins; the stop is requested for all first so they end together.
    for (auto& s : retiring_) s->stop();
    if (session_) session_->stop();
}

void SessionController::setPollInterval(int ms) {
    timer_->setInterval(ms);
}

bool SessionController::isActive() const {
    return session_ && !isTerminal(snapshot_.state);
}

void SessionController::start(const RunConfig& config, const QString& dbPath) {
    config_ = config;
    dbPath_ = dbPath;
    launch(std::make_unique<sessions::Session>(config, dbPath.toStdString()));
}

void SessionController::continueRun(const QString& dbPath, qint64 runId) {
    sessions::RunRequest request;
    request.dbPath = dbPath.toStdString();
    request.runId = runId; // the session finds the checkpoint and its config on its own thread
    dbPath_ = dbPath;
    launch(std::make_unique<sessions::Session>(request));
}

void SessionController::launch(std::unique_ptr<sessions::Session> session) {
    if (session_) {
        // Destroying a running Session would join its worker here (final evaluation, checkpoint):
        // let it wind down on its own and drop it once it has ended.
        session_->stop();
        retiring_.push_back(std::move(session_));
    }
    history_ = SessionHistory(config_.log_every);
    lastRead_.invalidate();
    finalReadStarted_ = finalReadDone_ = false;
    snapshot_ = sessions::SessionSnapshot{};
    live_.reset();
    endReported_ = false;
    session_ = std::move(session);
    // Called on the training thread: post to the UI thread at once. A publication of a session
    // replaced meanwhile is dropped there.
    session_->setLiveListener([this, s = session_.get()](const std::shared_ptr<const sessions::LiveLayers>& layers) {
        QMetaObject::invokeMethod(
            this,
            [this, s, layers] {
                if (s != session_.get()) return;
                live_ = layers;
                Q_EMIT liveLayersChanged(layers);
            },
            Qt::QueuedConnection);
    });
    session_->setTrainerNiceness(sessions::kInteractiveTrainerNiceness);
    session_->start();
    timer_->start();
    Q_EMIT started();
    Q_EMIT curvesChanged();
    Q_EMIT updated();
}

void SessionController::pause() {
    if (session_) session_->pause();
}
void SessionController::resume() {
    if (session_) session_->resume();
}
void SessionController::stepOnce() {
    if (session_) session_->stepOnce();
}
void SessionController::stop() {
    if (session_) session_->stop();
}
void SessionController::checkpoint() {
    if (session_) session_->checkpoint();
}

void SessionController::poll() {
    // Finished workers have returned: their destructors join at once.
    retiring_.erase(std::remove_if(retiring_.begin(), retiring_.end(),
                                   [](const auto& s) { return isTerminal(s->snapshot().state); }),
                    retiring_.end());
    if (!session_) {
        if (retiring_.empty()) timer_->stop();
        return;
    }
    collectRecordedCurves();
    const sessions::SessionSnapshot next = session_->snapshot();
    const bool changed = next.state != snapshot_.state || next.step != snapshot_.step ||
                         next.runId != snapshot_.runId || next.error != snapshot_.error ||
                         next.recordingWarning != snapshot_.recordingWarning;
    snapshot_ = next;
    if (history_.add(snapshot_)) Q_EMIT curvesChanged();
    if (changed) Q_EMIT updated();
    if (isTerminal(snapshot_.state) && !endReported_) {
        endReported_ = true;
        Q_EMIT ended(snapshot_.state, QString::fromStdString(snapshot_.error));
    }
    // Polling ends once the run, its last curve read and the retired sessions are all done.
    const bool recorded = !dbPath_.isEmpty() && snapshot_.runId != 0;
    if (endReported_ && (finalReadDone_ || !recorded) && retiring_.empty()) timer_->stop();
}

void SessionController::collectRecordedCurves() {
    if (auto curves = reader_.take(); curves && curves->runId == snapshot_.runId) {
        history_.mergeRecorded(std::move(curves->trainLoss), std::move(curves->trainAccuracy),
                               std::move(curves->testLoss), std::move(curves->testAccuracy));
        if (finalReadStarted_) finalReadDone_ = true;
        Q_EMIT curvesChanged();
    }
    if (dbPath_.isEmpty() || snapshot_.runId == 0 || reader_.busy()) return;
    if (endReported_) {
        // The recorder has closed: the store now holds every report of the run.
        if (!finalReadStarted_) finalReadStarted_ = reader_.start(dbPath_.toStdString(), snapshot_.runId);
        else if (!finalReadDone_ && !reader_.busy()) finalReadDone_ = true; // the read failed: keep the samples
        return;
    }
    if (history_.hasGaps() && (!lastRead_.isValid() || lastRead_.elapsed() >= 1000)) {
        lastRead_.start();
        reader_.start(dbPath_.toStdString(), snapshot_.runId);
    }
}

} // namespace srigl::studio
