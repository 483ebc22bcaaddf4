// Creating and wiring the analysis docks.
#include "widgets/compare/dashboard_docks.hpp"

#include "widgets/compare/compare_dashboard.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/runs/export_actions.hpp"
#include "widgets/jobs/init_variance_panel.hpp"
#include "widgets/layer_stats/layer_stats_panel.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_filter_proxy.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/live/session_controller.hpp"
#include "widgets/timing/timing_panel.hpp"

#include <QAction>
#include <QDockWidget>
#include <QFileDialog>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QMainWindow>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QTableView>

#include <algorithm>

namespace srigl::studio {

DashboardDocks::DashboardDocks(QMainWindow* window, QDockWidget* tabWith, RunBrowserPanel* browser,
                               SessionController& controller, StoreReader& store, const QString& dbPath)
    : QObject(window), window_(window), browser_(browser), controller_(controller), store_(store) {
    compare_ = new CompareDashboard(store, window);
    layerStats_ = new LayerStatsPanel(store, window);
    timing_ = new TimingPanel(store, window);
    auto dock = [window](QWidget* panel, const QString& title, const QString& name) {
        auto* d = new QDockWidget(title, window);
        d->setObjectName(name);
        d->setWidget(panel);
        return d;
    };
    compareDock_ = dock(compare_, tr("Compare"), QStringLiteral("compareDock"));
    statsDock_ = dock(layerStats_, tr("Layer statistics"), QStringLiteral("layerStatsDock"));
    timingDock_ = dock(timing_, tr("Timing"), QStringLiteral("timingDock"));
    // Issue 6's init-variance chart: a standalone analysis, no run or database needed.
    initVariance_ = new InitVariancePanel(window);
    initVarianceDock_ = dock(initVariance_, tr("Init variance"), QStringLiteral("initVarianceDock"));
    for (auto* d : docks()) {
        window->addDockWidget(Qt::RightDockWidgetArea, d);
        window->tabifyDockWidget(tabWith, d);
    }
    tabWith->raise(); // the live session stays in front
    openDatabase(dbPath);

    // The browser's model is reset when another database is opened: follow it.
    connect(browser_->model(), &QAbstractItemModel::modelReset, this, [this] {
        if (!browser_->model()->isOpen()) return;
        if (browser_->model()->path() != dbPath_) openDatabase(browser_->model()->path());
        else compare_->reload(); // new or finished runs (a fresh database exists only now)
    });
    connect(browser_->view()->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        const QList<qint64> ids = browserSelection();
        timing_->setRun(ids.isEmpty() ? 0 : ids.front());
        if (ids.size() == 1) layerStats_->showRunStep(ids.front(), -1);
        if (ids.size() >= 2) compare_->setSelectedRuns(ids);
    });
    connect(&controller_, &SessionController::liveLayersChanged, layerStats_, &LayerStatsPanel::showLive);
    connect(&controller_, &SessionController::ended, this, [this] { compare_->reload(); });
}

void DashboardDocks::openDatabase(const QString& path) {
    dbPath_ = path;
    compare_->openDatabase(path);
    layerStats_->openDatabase(path);
    timing_->openDatabase(path);
}

QList<qint64> DashboardDocks::browserSelection() const {
    QList<qint64> ids;
    auto rows = browser_->view()->selectionModel()->selectedRows();
    std::sort(rows.begin(), rows.end(), [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
    for (const auto& index : rows) ids.append(index.data(RunTableModel::RunIdRole).toLongLong());
    return ids;
}

void DashboardDocks::addMenus(QMenuBar* bar) {
    const auto existing = bar->actions();
    QAction* before = existing.isEmpty() ? nullptr : existing.back(); // Help stays last
    auto* analysis = new QMenu(tr("&Analysis"), bar);
    for (auto* d : docks()) analysis->addAction(d->toggleViewAction());
    analysis->addSeparator();
    auto* compareSelected = analysis->addAction(tr("Compare runs selected in the browser"), this, [this] {
        compare_->reload();
        compare_->setSelectedRuns(browserSelection());
        compareDock_->show();
        compareDock_->raise();
    });
    compareSelected->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    analysis->addAction(tr("Show the live run in layer statistics"), this, [this] {
        layerStats_->clearSelection();
        if (auto live = controller_.liveLayers()) layerStats_->showLive(live);
        else layerStats_->followLiveRun(controller_.snapshot().runId);
        statsDock_->show();
        statsDock_->raise();
    });

    auto* exports = new QMenu(tr("E&xport"), bar);
    auto* panels = exports->addMenu(tr("Panel to PNG"));
    // Filled when opened: every dock of the window, including those added later by others.
    connect(panels, &QMenu::aboutToShow, this, [this, panels] {
        panels->clear();
        for (auto* d : window_->findChildren<QDockWidget*>())
            panels->addAction(d->windowTitle(), this, [this, d] { exportPanelPng(d); });
    });
    exports->addAction(tr("Metrics of selected runs to CSV…"), this, &DashboardDocks::exportMetricsCsv);
    exports->addAction(tr("Mask evolution of a layer…"), this, &DashboardDocks::exportMaskEvolution);
    bar->insertMenu(before, analysis);
    bar->insertMenu(before, exports);
}

void DashboardDocks::exportPanelPng(QDockWidget* dock) {
    const QString path = QFileDialog::getSaveFileName(window_, tr("Save %1 as PNG").arg(dock->windowTitle()),
                                                      dock->objectName() + QStringLiteral(".png"), tr("PNG (*.png)"));
    if (path.isEmpty()) return;
    QString error;
    if (exportWidgetPng(dock->widget(), path, &error)) window_->statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
    else QMessageBox::warning(window_, tr("Export"), error);
}

void DashboardDocks::exportMetricsCsv() {
    QList<qint64> ids = browserSelection();
    if (ids.isEmpty()) ids = compare_->selectedRuns();
    if (ids.isEmpty()) {
        QMessageBox::information(window_, tr("Export"), tr("Select runs in the run browser (or the compare dashboard) first."));
        return;
    }
    const QString path = QFileDialog::getSaveFileName(window_, tr("Metrics to CSV"), QStringLiteral("metrics.csv"), tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    // Read and written on the store reader's thread, in order with the panels' reads.
    store_.request(
        this, QString(),
        [runs = std::vector<int64_t>(ids.begin(), ids.end()), file = path.toStdString()](sessions::RunStore& store) {
            srigl::studio::exportMetricsCsv(store, runs, file);
            return runs.size();
        },
        [this, path](size_t runs) {
            window_->statusBar()->showMessage(tr("Saved the metrics of %1 runs to %2").arg(runs).arg(path), 5000);
        },
        [this](const QString& error) { QMessageBox::warning(window_, tr("Export"), error); });
}

void DashboardDocks::exportMaskEvolution() {
    const QList<qint64> ids = browserSelection();
    const qint64 runId = ids.isEmpty() ? controller_.snapshot().runId : ids.front();
    if (runId <= 0) {
        QMessageBox::information(window_, tr("Export"), tr("Select a run in the run browser first."));
        return;
    }
    store_.request(
        this, QStringLiteral("export layers"), [runId](sessions::RunStore& store) { return snapshotLayers(store, runId); },
        [this, runId](const std::vector<std::string>& names) {
            QStringList layers;
            for (const auto& name : names) layers << QString::fromStdString(name);
            exportMaskEvolutionOf(runId, layers);
        },
        [this](const QString& error) { QMessageBox::warning(window_, tr("Export"), error); });
}

void DashboardDocks::exportMaskEvolutionOf(qint64 runId, const QStringList& layers) {
    if (layers.isEmpty()) {
        QMessageBox::information(window_, tr("Export"), tr("Run %1 has no mask snapshots.").arg(runId));
        return;
    }
    bool ok = false;
    const QString layer = QInputDialog::getItem(window_, tr("Mask evolution"), tr("Layer of run %1:").arg(runId), layers, 0, false, &ok);
    if (!ok) return;
    // A name ending in .mp4 or .avi is a video; anything else is a folder for a PNG sequence.
    const QString out = QFileDialog::getSaveFileName(window_, tr("Video (.mp4, .avi) or folder for PNGs"),
                                                     QStringLiteral("run%1-%2.mp4").arg(runId).arg(layer),
                                                     tr("Video (*.mp4 *.avi);;PNG sequence folder (*)"));
    if (out.isEmpty()) return;
    QString error;
    const long long frames = exportMaskEvolutionWithDialog(window_, dbPath_.toStdString(), runId, layer.toStdString(), out.toStdString(), &error);
    if (frames < 0) QMessageBox::warning(window_, tr("Export"), error);
    else if (frames == 0) window_->statusBar()->showMessage(tr("Export cancelled."), 5000);
    else window_->statusBar()->showMessage(tr("Wrote %1 frames to %2").arg(frames).arg(out), 5000);
}

} // namespace srigl::studio
