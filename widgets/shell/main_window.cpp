// Docks, menus, shortcuts and the wiring between the panels.
#include "widgets/shell/main_window.hpp"

#include "sessions/store/run_store.hpp"
#include "widgets/compare/dashboard_docks.hpp"
#include "widgets/jobs/init_variance_panel.hpp"
#include "widgets/database/import_runner.hpp"
#include "widgets/timing/timing_panel.hpp"
#include "widgets/inspector/inspector_docks.hpp"
#include "widgets/layer_stats/layer_stats_panel.hpp"
#include "widgets/inspector/step_scrubber.hpp"
#include "widgets/launch/launcher_panel.hpp"
#include "widgets/live/live_session_panel.hpp"
#include "widgets/database/checkpoint_import_action.hpp"
#include "widgets/database/database_copy_action.hpp"
#include "widgets/database/database_copy_runner.hpp"
#include "widgets/database/run_merge_action.hpp"
#include "widgets/database/run_merge_runner.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/common/theme.hpp"
#include "widgets/inspector/mask_inspector_widget.hpp"
#include "widgets/structure/structure_docks.hpp"
#include "widgets/sweeps/sweep_panel.hpp"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QStatusBar>
#include <QToolBar>

#include <algorithm>

namespace srigl::studio {

MainWindow::MainWindow(const StudioOptions& options, QWidget* parent)
    : QMainWindow(parent), options_(options),
      dbPath_(options.dbPath.isEmpty() ? QString::fromStdString(sessions::defaultDatabasePath()) : options.dbPath),
      store_(std::make_unique<StoreReader>()) {
    setWindowTitle(tr("SRigL Studio"));
    setObjectName(QStringLiteral("mainWindow"));
    setDockNestingEnabled(true);

    launcher_ = new LauncherPanel(this);
    // The window owns the live session: every feature that follows it gets this controller.
    controller_ = new SessionController(*store_, this);
    live_ = new LiveSessionPanel(*controller_, this);
    browser_ = new RunBrowserPanel(*store_, this);
    // First: the browser creates (or migrates) the database on the reader's thread, before any read
    // the other docks ask for below.
    browser_->openDatabase(dbPath_);

    auto dock = [this](QWidget* panel, const QString& title, const QString& name) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name); // saveState() identifies docks by object name
        d->setWidget(panel);
        return d;
    };
    launcherDock_ = dock(launcher_, tr("Launcher"), QStringLiteral("launcherDock"));
    liveDock_ = dock(live_, tr("Live session"), QStringLiteral("liveSessionDock"));
    browserDock_ = dock(browser_, tr("Run browser"), QStringLiteral("runBrowserDock"));
    // No central widget: every view is a dock the user can move, float or close. The launcher and
    // the live session share one tabbed column (starting a run raises the live session), above the
    // run browser, and the mask inspector gets a full-height column of its own: side by side, the
    // launcher's and the live session's minimum widths alone made the window wider than a
    // 1440 x 900 screen.
    addDockWidget(Qt::RightDockWidgetArea, launcherDock_);
    addDockWidget(Qt::RightDockWidgetArea, browserDock_);
    splitDockWidget(launcherDock_, browserDock_, Qt::Vertical);
    tabifyDockWidget(launcherDock_, liveDock_);
    // The window takes most of the screen it opens on (not a fixed size): the mask inspector's
    // column and every dock grow with it.
    const QRect screen = this->screen() ? this->screen()->availableGeometry() : QRect(0, 0, 1440, 900);
    resize(std::max(1024, screen.width() * 9 / 10), std::max(700, screen.height() * 9 / 10));
    resizeDocks({launcherDock_, browserDock_}, {height() * 2 / 3, height() / 3}, Qt::Vertical);
    // Compare dashboard, layer statistics and timing docks (tabbed behind the live session) with
    // their Analysis and Export menus; wiring in widgets/compare/dashboard_docks.cpp.
    dashboards_ = new DashboardDocks(this, liveDock_, browser_, *controller_, *store_, dbPath_);
    // Mask inspector and weight heatmap (tabbed, a full-height column on the right) and the global
    // step scrubber toolbar; wiring in widgets/inspector/inspector_docks.cpp.
    inspectors_ = new InspectorDocks(this, browser_, *controller_, *store_, dbPath_);
    // The scrubber is global: the layer statistics follow the step it selects, like the inspector.
    connect(inspectors_->scrubber(), &StepScrubber::stepSelected, dashboards_->layerStats(),
            &LayerStatsPanel::showRunStep);
    // Structure (degree histograms, input connectivity, a neuron's drill-down), tabbed behind the
    // heatmap: the scrubber's step, the inspector's layer, and a neuron clicked in the inspector.
    structure_ = new StructureDocks(this, *controller_, *store_);
    tabifyDockWidget(inspectors_->docks().back(), structure_->dock());
    inspectors_->docks().front()->raise(); // the mask inspector stays the tab on top
    connect(inspectors_->scrubber(), &StepScrubber::stepSelected, structure_, &StructureDocks::showRunStep);
    if (auto* inspector = inspectors_->inspector()) {
        connect(inspector, &MaskInspectorWidget::layerChosen, structure_, &StructureDocks::setLayer);
        connect(inspector, &MaskInspectorWidget::neuronClicked, this, [this](const QString& layer, int neuron) {
            structure_->openNeuron(layer, neuron);
            structure_->dock()->show();
            structure_->dock()->raise();
        });
    }
    // Sweeps (a grid of methods x sparsities x seeds over the launcher's config), tabbed with the
    // live session.
    sweeps_ = new SweepPanel(this);
    sweeps_->setDatabase(dbPath_);
    sweeps_->setBaseConfigSource([this] { return launcher_->form()->config(); });
    // Scrollable: the panel shares the launcher's column and must not dictate its size.
    auto* sweepsArea = new QScrollArea(this);
    sweepsArea->setWidgetResizable(true);
    sweepsArea->setFrameShape(QFrame::NoFrame);
    sweepsArea->setWidget(sweeps_);
    sweepsDock_ = dock(sweepsArea, tr("Sweeps"), QStringLiteral("sweepsDock"));
    tabifyDockWidget(liveDock_, sweepsDock_);
    connect(sweeps_, &SweepPanel::sweepEnded, this, [this] { browser_->reload(); });
    // Continue a stopped or interrupted run from its checkpoint, in the live session.
    connect(browser_, &RunBrowserPanel::continueRequested, this, &MainWindow::continueRun);
    // PyTorch checkpoints become a run of the shown database; the browser then selects it.
    import_ = new CheckpointImportAction(this, browser_);
    import_->setDatabase(dbPath_);
    // A consistent copy of the shown database while runs train (File > Save a copy).
    copy_ = new DatabaseCopyAction(this);
    copy_->setDatabase(dbPath_);
    // Runs of another database (a cluster job's own) copied into the shown one.
    merge_ = new RunMergeAction(this, browser_);
    merge_->setDatabase(dbPath_);
    launcherDock_->raise(); // of its tabs, what a new user needs first
    defaultState_ = saveState();

    buildMenus();
    dashboards_->addMenus(menuBar()); // Analysis and Export, before Help

    connect(live_, &LiveSessionPanel::startRequested, this, &MainWindow::startFromLauncher);
    connect(launcher_, &LauncherPanel::startRequested, this, [this] { startFromLauncher(); });
    auto& controller = *controller_;
    connect(&controller, &SessionController::updated, this, [this] {
        // The live run's row follows its progress: its status from the store (at most once a
        // second: one small query), its step from the session at every poll (no query).
        const auto& live = *controller_;
        const int64_t id = live.snapshot().runId;
        if (id == 0 || live.databasePath() != browser_->model()->path()) return;
        if (id != lastRunId_ || browserRefresh_.elapsed() > 1000) {
            lastRunId_ = id;
            browserRefresh_.start();
            browser_->model()->refreshRun(id);
        }
        browser_->model()->setLiveStep(id, live.snapshot().step);
    });
    connect(&controller, &SessionController::ended, this, [this](sessions::SessionState state, const QString& error) {
        browser_->reload();
        if (state == sessions::SessionState::Failed)
            statusBar()->showMessage(tr("Run failed: %1").arg(error));
        else
            statusBar()->showMessage(tr("Run %1.").arg(QString::fromStdString(sessions::toString(state))), 10000);
    });

    // Another database is shown once the browser has opened and read it; the analysis docks follow
    // the browser's model themselves.
    connect(browser_->model(), &RunTableModel::opened, this, [this](const QString& path, bool ok) {
        if (path == dbPath_) return;
        if (!ok) {
            // Not a runs database (the store refuses and leaves it untouched): say why, keep the old one.
            QMessageBox::warning(this, tr("Open database"), browser_->model()->lastError());
            return;
        }
        dbPath_ = path;
        inspectors_->setDatabase(dbPath_);
        import_->setDatabase(dbPath_);
        copy_->setDatabase(dbPath_);
        merge_->setDatabase(dbPath_);
        sweeps_->setDatabase(dbPath_);
        statusBar()->showMessage(tr("Database: %1").arg(dbPath_));
    });
    statusBar()->showMessage(tr("Database: %1").arg(dbPath_));

    QSettings settings;
    if (options_.restoreLayout) {
        restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
        restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    }
}

MainWindow::~MainWindow() {
    // Every feature holds the store reader: the docks and toolbars they live in go first (Qt would
    // delete the window's children only after its members). The reader then ends its thread.
    delete dashboards_;
    delete inspectors_;
    qDeleteAll(findChildren<QDockWidget*>(QString(), Qt::FindDirectChildrenOnly));
    qDeleteAll(findChildren<QToolBar*>(QString(), Qt::FindDirectChildrenOnly));
    delete controller_; // stops the live run and joins its worker; it reads curves through the reader
}

void MainWindow::buildMenus() {
    auto* file = menuBar()->addMenu(tr("&File"));
    auto* open = file->addAction(tr("Open database…"), this, &MainWindow::openDatabase);
    open->setShortcut(QKeySequence::Open);
    file->addAction(import_->action());
    file->addAction(merge_->action());
    file->addAction(copy_->action());
    file->addSeparator();
    auto* quit = file->addAction(tr("Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    auto* session = menuBar()->addMenu(tr("&Session"));
    const struct {
        QAction* action;
        QKeySequence key;
    } keys[] = {
        {live_->startAction(), QKeySequence(Qt::Key_F5)},
        {live_->pauseAction(), QKeySequence(Qt::Key_F6)},
        {live_->resumeAction(), QKeySequence(Qt::CTRL | Qt::Key_F5)},
        {live_->stepAction(), QKeySequence(Qt::Key_F10)},
        {live_->stopAction(), QKeySequence(Qt::SHIFT | Qt::Key_F5)},
        {live_->checkpointAction(), QKeySequence(Qt::CTRL | Qt::Key_K)},
    };
    for (const auto& k : keys) {
        k.action->setShortcut(k.key);
        // Docks can float as their own windows: the keys must work from any of them.
        k.action->setShortcutContext(Qt::ApplicationShortcut);
        session->addAction(k.action);
    }

    auto* view = menuBar()->addMenu(tr("&View"));
    for (auto* d : {launcherDock_, liveDock_, browserDock_}) view->addAction(d->toggleViewAction());
    for (auto* d : allDocks()) {
        if (d != launcherDock_ && d != liveDock_ && d != browserDock_) view->addAction(d->toggleViewAction());
    }
    view->addSeparator();
    auto* theme = view->addAction(tr("Dark theme"));
    theme->setObjectName(QStringLiteral("darkThemeAction"));
    theme->setCheckable(true);
    theme->setChecked(currentTheme() == Theme::Dark);
    theme->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
    connect(theme, &QAction::triggered, this, &MainWindow::toggleTheme);
    view->addAction(tr("Reset layout"), this, &MainWindow::resetLayout);

    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("About SRigL Studio"), this, [this] {
        QMessageBox::about(this, tr("About SRigL Studio"),
                           tr("<b>SRigL Studio</b><br>Dynamic sparse training with constant fan-in (SRigL), RigL, "
                              "SET and static masks, recorded in %1.<br><br>F5 start/resume · F6 pause · F10 step · "
                              "Shift+F5 stop · Ctrl+K checkpoint")
                               .arg(dbPath_.toHtmlEscaped()));
    });
}

bool MainWindow::startFromLauncher() {
    const auto config = launcher_->configToStart();
    if (!config) {
        launcherDock_->show();
        launcherDock_->raise();
        statusBar()->showMessage(tr("Cannot start: %1").arg(QString::fromStdString(launcher_->form()->check().message)));
        return false;
    }
    live_->startSession(*config, dbPath_);
    liveDock_->raise();
    statusBar()->showMessage(tr("Started %1").arg(QString::fromStdString(config->name)), 5000);
    return true;
}

void MainWindow::toggleTheme() {
    applyTheme(currentTheme() == Theme::Dark ? Theme::Light : Theme::Dark);
    if (auto* a = findChild<QAction*>(QStringLiteral("darkThemeAction"))) a->setChecked(currentTheme() == Theme::Dark);
    QSettings().setValue(QStringLiteral("theme"), themeName(currentTheme()));
}

QList<QDockWidget*> MainWindow::allDocks() const {
    return QList<QDockWidget*>{launcherDock_, liveDock_, browserDock_, sweepsDock_, structure_->dock()} +
           dashboards_->docks() + inspectors_->docks();
}

bool MainWindow::continueRun(qint64 runId) {
    if (controller_->isActive()) {
        statusBar()->showMessage(tr("A run is training: stop it before continuing run %1.").arg(runId), 10000);
        return false;
    }
    // The session finds the run's checkpoint and config on its own thread; a run that cannot be
    // continued ends at once with the reason in the live panel and the status bar.
    controller_->continueRun(dbPath_, runId);
    liveDock_->raise();
    statusBar()->showMessage(tr("Continuing run %1").arg(runId), 5000);
    return true;
}

void MainWindow::resetLayout() {
    restoreState(defaultState_);
    for (auto* d : allDocks()) {
        d->setFloating(false);
        d->show();
    }
}

void MainWindow::openDatabase() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Open or create a runs database"), dbPath_,
                                                      tr("SQLite (*.db)"), nullptr, QFileDialog::DontConfirmOverwrite);
    if (!path.isEmpty()) browser_->openDatabase(path); // shown when it has been read (see the constructor)
}

void MainWindow::saveLayout() {
    if (!options_.restoreLayout) return; // a demo does not overwrite the user's layout
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
}

QStringList MainWindow::runningWork() const {
    QStringList work;
    if (controller_->isActive())
        work << tr("the live run: it is stopped after a final evaluation and checkpoint, recorded as stopped");
    if (sweeps_->running())
        work << tr("the sweep: its current point is stopped and recorded; Resume in the Sweeps panel continues it");
    if (import_->runner()->isRunning()) work << tr("the checkpoint import: nothing of it is recorded");
    if (copy_->runner()->isRunning()) work << tr("the copy of the database: nothing of it is written");
    if (merge_->runner()->isRunning())
        work << tr("the merge of runs: the run being copied is left out, those merged before it stay");
    if (dashboards_->timing()->isRunning()) work << tr("the timing benchmark: results not yet stored are lost");
    if (dashboards_->initVariance()->isRunning()) work << tr("the init-variance analysis: its result is lost");
    return work;
}

void MainWindow::closeWithoutAsking() {
    askBeforeQuit_ = false;
    close();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    // Quitting stops every job (the destructors cancel and join them): ask first, naming each one and
    // what becomes of it, except in --demo, which quits on purpose. Before, only a live run was asked
    // about, and a sweep of many hours was stopped without a word.
    const QStringList work = runningWork();
    if (options_.restoreLayout && askBeforeQuit_ && !work.isEmpty()) {
        QMessageBox box(QMessageBox::Question, tr("Quit SRigL Studio"),
                        tr("Still running:\n\n- %1\n\nStop and quit?").arg(work.join(QStringLiteral("\n- "))),
                        QMessageBox::Yes | QMessageBox::No, this);
        box.button(QMessageBox::Yes)->setText(tr("Stop and quit"));
        box.button(QMessageBox::No)->setText(tr("Keep running"));
        box.setDefaultButton(QMessageBox::No);
        if (box.exec() != QMessageBox::Yes) {
            event->ignore();
            return;
        }
    }
    saveLayout();
    QMainWindow::closeEvent(event);
}

} // namespace srigl::studio
