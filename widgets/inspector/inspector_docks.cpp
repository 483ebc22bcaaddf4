// Docks, toolbar and the run/step wiring of the inspector side of the Studio.
#include "widgets/inspector/inspector_docks.hpp"

#include "widgets/inspector/mask_inspector_widget.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/live/session_controller.hpp"
#include "widgets/inspector/live_frame_source.hpp"
#include "widgets/inspector/snapshot_source.hpp"
#include "widgets/inspector/step_scrubber.hpp"
#include "widgets/heatmap/weight_heatmap_panel.hpp"

#include <QDockWidget>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMainWindow>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QToolBar>

namespace srigl::studio {

InspectorDocks::InspectorDocks(QMainWindow* window, RunBrowserPanel* browser, SessionController& controller,
                               StoreReader& store, const QString& dbPath)
    : QObject(window), window_(window), browser_(browser), controller_(controller), dbPath_(dbPath) {
    source_ = new SnapshotSource(store, this);
    source_->setDatabase(dbPath_);
    QWidget* inspectorPanel = nullptr;
    if (ImGuiGlWidget::openGlAvailable()) {
        inspector_ = new MaskInspectorWidget(window);
        inspectorPanel = inspector_;
    } else {
        auto* label = new QLabel(tr("The mask inspector draws with OpenGL, which this display does not offer."), window);
        label->setObjectName(QStringLiteral("maskInspectorUnavailable"));
        label->setAlignment(Qt::AlignCenter);
        label->setWordWrap(true);
        label->setMinimumSize(320, 240); // the inspector's own minimum: the same default layout
        inspectorPanel = label;
    }
    heatmap_ = new WeightHeatmapPanel(window);
    scrubber_ = new StepScrubber(store, window);

    auto dock = [window](QWidget* panel, const QString& title, const QString& name) {
        auto* d = new QDockWidget(title, window);
        d->setObjectName(name); // saveState() identifies docks by object name
        d->setWidget(panel);
        return d;
    };
    inspectorDock_ = dock(inspectorPanel, tr("Mask inspector"), QStringLiteral("maskInspectorDock"));
    heatmapDock_ = dock(heatmap_, tr("Weight heatmap"), QStringLiteral("weightHeatmapDock"));
    // A column of its own: the mask picture wants height, and the docks already on the right may be
    // tabbed (splitting a tabbed dock would only add another tab).
    window->addDockWidget(Qt::RightDockWidgetArea, inspectorDock_, Qt::Horizontal);
    window->tabifyDockWidget(inspectorDock_, heatmapDock_);
    inspectorDock_->raise();
    window->resizeDocks({inspectorDock_}, {560}, Qt::Horizontal);

    toolBar_ = new QToolBar(tr("Step scrubber"), window);
    toolBar_->setObjectName(QStringLiteral("stepScrubberToolBar"));
    toolBar_->addWidget(scrubber_);
    window->addToolBar(Qt::TopToolBarArea, toolBar_);

    // Frames come from the store (history, finished runs) or, for the live run's latest step, from
    // the session's latest-value slot; both feed the same views.
    liveSource_ = new LiveFrameSource(this);
    connect(scrubber_, &StepScrubber::stepSelected, this, &InspectorDocks::showStep);
    connect(source_, &SnapshotSource::frameReady, heatmap_, &WeightHeatmapPanel::setFrame);
    connect(liveSource_, &LiveFrameSource::frameReady, heatmap_, &WeightHeatmapPanel::setFrame);
    if (inspector_) {
        connect(source_, &SnapshotSource::frameReady, inspector_, &MaskInspectorWidget::setFrame);
        connect(source_, &SnapshotSource::failed, inspector_, &MaskInspectorWidget::setMessage);
        connect(liveSource_, &LiveFrameSource::frameReady, inspector_, &MaskInspectorWidget::setFrame);
        connect(liveSource_, &LiveFrameSource::failed, inspector_, &MaskInspectorWidget::setMessage);
    }
    connect(source_, &SnapshotSource::cleared, heatmap_, &WeightHeatmapPanel::clearFrame);
    auto chooseLayer = [this](const QString& layer) {
        source_->setLayer(layer);
        liveSource_->setLayer(layer);
    };
    connect(heatmap_, &WeightHeatmapPanel::layerChosen, this, chooseLayer);
    if (inspector_) {
        connect(source_, &SnapshotSource::cleared, inspector_, &MaskInspectorWidget::clearFrame);
        connect(inspector_, &MaskInspectorWidget::layerChosen, this, chooseLayer);
    }
    connect(&controller_, &SessionController::liveLayersChanged, this, &InspectorDocks::showLive);

    connect(browser_->view()->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &InspectorDocks::followBrowser);
    connect(&controller_, &SessionController::updated, this, [this] { followLive(); });
    connect(&controller_, &SessionController::ended, this, [this] {
        if (scrubber_->runId() == liveRunId_) scrubber_->setLive(false);
    });
}

void InspectorDocks::setDatabase(const QString& path) {
    if (path == dbPath_) return;
    dbPath_ = path;
    liveRunId_ = 0;
    scrubber_->clear();
    source_->setDatabase(path);
}

void InspectorDocks::followBrowser() {
    const QModelIndex current = browser_->view()->selectionModel()->currentIndex();
    if (!current.isValid()) return;
    const qint64 id = current.data(RunTableModel::RunIdRole).toLongLong();
    if (id == 0) return;
    const bool live = id == liveRunId_ && controller_.isActive();
    scrubber_->setRun(dbPath_, id, live);
}

void InspectorDocks::showStep(qint64 runId, qint64 step) {
    if (auto live = controller_.liveAt(runId, step)) {
        liveSource_->show(live);
        return;
    }
    source_->showRunStep(runId, step);
}

void InspectorDocks::showLive(std::shared_ptr<const sessions::LiveLayers> layers) {
    if (layers->runId == 0) {
        // Not recorded: nothing to scrub, the latest publication is all there is.
        if (scrubber_->runId() == 0) liveSource_->show(layers);
        return;
    }
    followLive(layers->runId);
    if (scrubber_->runId() != layers->runId) return; // the user looks at another run
    // The new step joins the scrubber, which (when following the latest) selects it and so asks
    // showStep for it: the frame comes from this publication, not from the store.
    scrubber_->setSteps(layers->runId, {layers->step});
}

void InspectorDocks::followLive() { followLive(controller_.snapshot().runId); }

void InspectorDocks::followLive(qint64 id) {
    // A run that starts becomes the selected one; afterwards the browser may select another.
    if (id == 0 || id == liveRunId_) return;
    liveRunId_ = id;
    // The session records into its own database (the one the window had when it started).
    const QString db = controller_.databasePath().isEmpty() ? dbPath_ : controller_.databasePath();
    if (db != dbPath_) return; // not recorded in the database the window shows
    scrubber_->setRun(db, id, controller_.isActive());
}

} // namespace srigl::studio
