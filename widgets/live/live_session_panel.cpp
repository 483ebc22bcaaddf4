// Live session view: everything here reads the controller's cached snapshot, never the session.
#include "widgets/live/live_session_panel.hpp"

#include "widgets/common/curve_chart.hpp"

#include <QAction>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QSplitter>
#include <QTableWidget>
#include <QToolBar>
#include <QVBoxLayout>

namespace srigl::studio {

using sessions::SessionState;

LiveSessionPanel::LiveSessionPanel(SessionController& controller, QWidget* parent)
    : QWidget(parent), controller_(&controller) {
    auto makeAction = [this](const QString& text, const QString& tip) {
        auto* a = new QAction(text, this);
        a->setToolTip(tip);
        return a;
    };
    start_ = makeAction(tr("Start"), tr("Start a run with the launcher's config"));
    pause_ = makeAction(tr("Pause"), tr("Pause after the current step"));
    resume_ = makeAction(tr("Resume"), tr("Continue training"));
    step_ = makeAction(tr("Step"), tr("Train one step, then stay paused"));
    stop_ = makeAction(tr("Stop"), tr("Stop: final evaluation and checkpoint, recorded as stopped"));
    checkpoint_ = makeAction(tr("Checkpoint"), tr("Write the run's checkpoint after the current step"));
    connect(start_, &QAction::triggered, this, [this] {
        // Start doubles as resume for a paused run (one key to get going again).
        if (controller_->isActive() && controller_->snapshot().state == SessionState::Paused) controller_->resume();
        else if (!controller_->isActive()) Q_EMIT startRequested();
    });
    connect(pause_, &QAction::triggered, controller_, &SessionController::pause);
    connect(resume_, &QAction::triggered, controller_, &SessionController::resume);
    connect(step_, &QAction::triggered, controller_, &SessionController::stepOnce);
    connect(stop_, &QAction::triggered, controller_, &SessionController::stop);
    connect(checkpoint_, &QAction::triggered, controller_, &SessionController::checkpoint);

    auto* bar = new QToolBar(this);
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    for (auto* a : {start_, pause_, resume_, step_, stop_, checkpoint_}) bar->addAction(a);

    title_ = new QLabel(tr("No session yet: pick a preset in the launcher and press Start (F5)."), this);
    title_->setObjectName(QStringLiteral("sessionTitle"));
    QFont bold = title_->font();
    bold.setBold(true);
    title_->setFont(bold);
    state_ = new QLabel(this);
    state_->setObjectName(QStringLiteral("sessionState"));
    eta_ = new QLabel(this);
    eta_->setObjectName(QStringLiteral("sessionEta"));
    timing_ = new QLabel(this);
    timing_->setObjectName(QStringLiteral("sessionStepTiming"));
    timing_->setToolTip(tr("The run's mean ordinary step (mask updates left out) against a step of the same model "
                           "kept dense, timed at the start (config key dense_reference_steps)"));
    timing_->setWordWrap(true);
    timing_->hide();
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->setFormat(QStringLiteral("%v / %m steps (%p%)"));
    error_ = new QLabel(this);
    error_->setObjectName(QStringLiteral("sessionError"));
    error_->setWordWrap(true);
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error_->setStyleSheet(QStringLiteral("color: #d9453b; font-weight: bold;"));
    error_->hide();

    loss_ = new CurveChart(tr("Loss"), tr("cross-entropy"), this);
    trainLossCurve_ = loss_->addCurve(tr("train"));
    testLossCurve_ = loss_->addCurve(tr("test"));
    accuracy_ = new CurveChart(tr("Accuracy"), tr("accuracy"), this);
    trainAccCurve_ = accuracy_->addCurve(tr("train"));
    testAccCurve_ = accuracy_->addCurve(tr("test"));
    accuracy_->setYRange(0.0, 1.0);

    layers_ = new QTableWidget(0, 8, this);
    layers_->setObjectName(QStringLiteral("layerTable"));
    layers_->setHorizontalHeaderLabels(
        {tr("layer"), tr("shape"), tr("sparsity"), tr("k"), tr("active"), tr("ablated"), tr("fan-in"),
         tr("compute")});
    layers_->verticalHeader()->hide();
    layers_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    layers_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    layers_->setMinimumHeight(90);

    auto* info = new QGridLayout;
    info->addWidget(title_, 0, 0, 1, 2);
    info->addWidget(state_, 1, 0);
    info->addWidget(eta_, 1, 1, Qt::AlignRight);
    info->addWidget(progress_, 2, 0, 1, 2);
    info->addWidget(timing_, 3, 0, 1, 2);
    info->addWidget(error_, 4, 0, 1, 2);

    auto* charts = new QSplitter(Qt::Horizontal, this);
    charts->addWidget(loss_);
    charts->addWidget(accuracy_);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(charts);
    split->addWidget(layers_);
    split->setStretchFactor(0, 4);
    split->setStretchFactor(1, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(bar);
    layout->addLayout(info);
    layout->addWidget(split, 1);

    connect(controller_, &SessionController::updated, this, &LiveSessionPanel::refresh);
    connect(controller_, &SessionController::curvesChanged, this, &LiveSessionPanel::refreshCurves);
    connect(controller_, &SessionController::ended, this, &LiveSessionPanel::refresh);
    updateActions();
}

void LiveSessionPanel::startSession(const RunConfig& config, const QString& dbPath) {
    layersShownStep_ = -2;
    layers_->setRowCount(0);
    title_->setText(QString::fromStdString(config.name.empty() ? config.method + " " + config.model : config.name));
    controller_->start(config, dbPath);
}

QString LiveSessionPanel::statusText() const {
    return state_->text();
}
QString LiveSessionPanel::errorText() const {
    return error_->text();
}
QString LiveSessionPanel::timingText() const {
    return timing_->text();
}

void LiveSessionPanel::refresh() {
    const auto& s = controller_->snapshot();
    QString state = QString::fromStdString(sessions::toString(s.state));
    if (s.runId > 0) state += tr("  ·  run %1").arg(s.runId);
    if (s.lastStep) {
        state += tr("  ·  epoch %1  ·  loss %2  ·  %3 samples/s")
                     .arg(s.lastStep->epoch + 1)
                     .arg(s.lastStep->loss, 0, 'f', 4)
                     .arg(s.lastStep->samplesPerSecond, 0, 'f', 0);
    }
    if (s.summary && s.state == SessionState::Finished)
        state += tr("  ·  test accuracy %1").arg(s.summary->testAccuracy, 0, 'f', 4);
    state_->setText(state);
    if (s.totalSteps > 0) {
        progress_->setRange(0, static_cast<int>(s.totalSteps));
        progress_->setValue(static_cast<int>(s.step));
        loss_->setXMax(static_cast<double>(s.totalSteps));
        accuracy_->setXMax(static_cast<double>(s.totalSteps));
    }
    const bool live = controller_->isActive();
    eta_->setText(live ? tr("ETA %1").arg(QString::fromStdString(formatDuration(etaSeconds(s))))
                       : (s.lastStep ? tr("trained for %1").arg(QString::fromStdString(
                                            formatDuration(s.lastStep->elapsedSeconds)))
                                     : QString()));
    // The run's step against the dense twin's: the mean so far while it runs, the summary's at the end.
    const double stepMs = s.summary && s.summary->timedSteps > 0 ? s.summary->stepMs
                          : s.lastStep                           ? s.lastStep->stepMs
                                                                 : 0.0;
    QString timing = stepMs > 0 ? tr("step %1 ms").arg(stepMs, 0, 'f', 2) : QString();
    if (s.denseReference && s.denseReference->measured) {
        const double dense = s.denseReference->stepMs;
        timing = stepMs > 0 ? tr("step %1 ms, dense twin %2 ms: %3x")
                                  .arg(stepMs, 0, 'f', 2)
                                  .arg(dense, 0, 'f', 2)
                                  .arg(dense / stepMs, 0, 'f', 2)
                            : tr("dense twin %1 ms per step").arg(dense, 0, 'f', 2);
    } else if (s.denseReference && !s.denseReference->skipped.empty()) {
        timing += (timing.isEmpty() ? QString() : QStringLiteral("; ")) +
                  tr("no dense twin: %1").arg(QString::fromStdString(s.denseReference->skipped));
    }
    timing_->setText(timing);
    timing_->setVisible(!timing.isEmpty());
    // The run's error, else a recording warning (training goes on while the database is locked or full).
    const std::string& problem = s.error.empty() ? s.recordingWarning : s.error;
    error_->setText(QString::fromStdString(problem));
    error_->setVisible(!problem.empty());
    refreshLayers();
    updateActions();
}

void LiveSessionPanel::refreshCurves() {
    const auto& h = controller_->history();
    loss_->setPoints(trainLossCurve_, h.trainLoss(), false);
    loss_->setPoints(testLossCurve_, h.testLoss());
    accuracy_->setPoints(trainAccCurve_, h.trainAccuracy(), false);
    accuracy_->setPoints(testAccCurve_, h.testAccuracy());
}

void LiveSessionPanel::refreshLayers() {
    const auto& s = controller_->snapshot();
    // Layer statistics change only at mask updates: rebuild the table then, not on every poll.
    const int64_t shownStep = s.lastUpdate ? s.lastUpdate->step : (s.layers.empty() ? -2 : -1);
    if (shownStep == layersShownStep_ && layers_->rowCount() == static_cast<int>(s.layers.size())) return;
    layersShownStep_ = shownStep;
    layers_->setRowCount(static_cast<int>(s.layers.size()));
    for (int row = 0; row < static_cast<int>(s.layers.size()); ++row) {
        const auto& l = s.layers[static_cast<size_t>(row)];
        QStringList dims;
        for (auto d : l.shape) dims << QString::number(d);
        const QStringList cells = {QString::fromStdString(l.name),
                                   dims.join(QStringLiteral(" x ")),
                                   QString::number(l.sparsity, 'f', 3),
                                   l.k > 0 ? QString::number(l.k) : QStringLiteral("–"),
                                   QString::number(l.active),
                                   QString::number(l.ablated),
                                   l.fanInMin == l.fanInMax ? QString::number(l.fanInMin)
                                                            : QStringLiteral("%1–%2").arg(l.fanInMin).arg(l.fanInMax),
                                   // condensed kernels, dense ops on masked weights, or a dense layer
                                   QString::fromStdString(l.compute)};
        for (int col = 0; col < cells.size(); ++col) {
            auto* item = layers_->item(row, col);
            if (!item) layers_->setItem(row, col, item = new QTableWidgetItem);
            item->setText(cells[col]);
        }
    }
}

void LiveSessionPanel::updateActions() {
    const auto state = controller_->snapshot().state;
    const bool active = controller_->isActive();
    const bool paused = active && state == SessionState::Paused;
    const bool running = active && (state == SessionState::Running || state == SessionState::Starting);
    start_->setEnabled(!active || paused);
    pause_->setEnabled(running);
    resume_->setEnabled(paused);
    step_->setEnabled(active);
    stop_->setEnabled(active);
    // The session writes a checkpoint only where it has a file: recorded runs get a default one.
    checkpoint_->setEnabled(active && (controller_->snapshot().runId > 0 || !controller_->config().checkpoint.empty()));
}

} // namespace srigl::studio
