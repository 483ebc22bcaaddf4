// Docks, toolbar and the run/step wiring of the inspector side of the Studio.
#include "widgets/inspector/inspector_docks.hpp"

#include "widgets/inspector/mask_inspector_widget.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/live/session_controller.hpp"
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
                               const QString& dbPath)
    : QObject(window), window_(window), browser_(browser), controller_(controller), dbPath_(dbPath) {
    source_ = new SnapshotSource(this);
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
    scrubber_ = new StepScrubber(window);

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

    connect(scrubber_, &StepScrubber::stepSelected, source_, &SnapshotSource::showRunStep);
    connect(source_, &SnapshotSource::frameReady, heatmap_, &WeightHeatmapPanel::setFrame);
    connect(source_, &SnapshotSource::cleared, heatmap_, &WeightHeatmapPanel::clearFrame);
    connect(heatmap_, &WeightHeatmapPanel::layerChosen, source_, &SnapshotSource::setLayer);
    if (inspector_) {
        connect(source_, &SnapshotSource::frameReady, inspector_, &MaskInspectorWidget::setFrame);
        connect(source_, &SnapshotSource::failed, inspector_, &MaskInspectorWidget::setMessage);
        connect(source_, &SnapshotSource::cleared, inspector_, &MaskInspectorWidget::clearFrame);
        connect(inspector_, &MaskInspectorWidget::layerChosen, source_, &SnapshotSource::setLayer);
    }

    connect(browser_->view()->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &InspectorDocks::followBrowser);
    connect(&controller_, &SessionController::updated, this, &InspectorDocks::followLive);
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

void InspectorDocks::followLive() {
    // A run that starts becomes the selected one; afterwards the browser may select another.
    const qint64 id = controller_.snapshot().runId;
    if (id == 0 || id == liveRunId_) return;
    liveRunId_ = id;
    // The session records into its own database (the one the window had when it started).
    const QString db = controller_.databasePath().isEmpty() ? dbPath_ : controller_.databasePath();
    if (db != dbPath_) return; // not recorded in the database the window shows
    scrubber_->setRun(db, id, controller_.isActive());
}

} // namespace srigl::studio
