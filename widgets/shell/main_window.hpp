// The Studio's main window: launcher, live session and run browser as docks whose layout is
// saved (QSettings), dark/light theme toggle, and the session shortcuts (F5 start/resume, F6 pause,
// F10 step, Shift+F5 stop, Ctrl+K checkpoint). It owns the one StoreReader every feature reads the
// store through.
#pragma once

#include <QElapsedTimer>
#include <QMainWindow>
#include <QString>
#include <QStringList>

#include <memory>

class QDockWidget;

namespace srigl::studio {

class LauncherPanel;
class LiveSessionPanel;
class SessionController;
class StructureDocks;
class SweepPanel;
class RunBrowserPanel;
class DashboardDocks; // compare, layer statistics, timing, exports
class InspectorDocks; // mask inspector, weight heatmap, step scrubber
class StoreReader;
class CheckpointImportAction;
class DatabaseCopyAction;
class RunMergeAction;

struct StudioOptions {
    QString dbPath;        // empty: sessions::defaultDatabasePath()
    bool restoreLayout = true; // false for --demo: screenshots always show the default layout
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const StudioOptions& options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    LauncherPanel* launcher() const { return launcher_; }
    LiveSessionPanel* liveSession() const { return live_; }
    SessionController& sessionController() const { return *controller_; }
    StructureDocks* structure() const { return structure_; }
    SweepPanel* sweeps() const { return sweeps_; }
    // Continues a recorded run from its checkpoint in the live session (false while one trains).
    bool continueRun(qint64 runId);
    RunBrowserPanel* runBrowser() const { return browser_; }
    DashboardDocks* dashboards() const { return dashboards_; } // compare, layer statistics, timing
    InspectorDocks* inspectors() const { return inspectors_; } // mask inspector, heatmap, step scrubber
    QString databasePath() const { return dbPath_; }
    StoreReader& storeReader() const { return *store_; }
    // File > Import checkpoint… (PyTorch checkpoints recorded as a run, in the background).
    CheckpointImportAction* checkpointImport() const { return import_; }
    DatabaseCopyAction* databaseCopy() const { return copy_; }
    RunMergeAction* runMerge() const { return merge_; }

    // Starts the launcher's config (the Start action); false with the engine's message shown in the
    // status bar when the config is invalid.
    bool startFromLauncher();
    void toggleTheme();
    void resetLayout();
    // What quitting would stop, one line each saying what becomes of it (the live run, a sweep, a
    // checkpoint import, a timing benchmark, an init-variance analysis); empty when nothing runs.
    QStringList runningWork() const;
    // Closes without the question (SIGTERM, a logout): running work stops as after "Stop and quit".
    void closeWithoutAsking();

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void openDatabase();
    void saveLayout();
    QList<QDockWidget*> allDocks() const;

    StudioOptions options_;
    bool askBeforeQuit_ = true;
    QString dbPath_;
    std::unique_ptr<StoreReader> store_;
    LauncherPanel* launcher_ = nullptr;
    SessionController* controller_ = nullptr;
    StructureDocks* structure_ = nullptr;
    SweepPanel* sweeps_ = nullptr;
    QDockWidget* sweepsDock_ = nullptr;
    LiveSessionPanel* live_ = nullptr;
    RunBrowserPanel* browser_ = nullptr;
    QDockWidget* launcherDock_ = nullptr;
    QDockWidget* liveDock_ = nullptr;
    QDockWidget* browserDock_ = nullptr;
    QByteArray defaultState_;
    QElapsedTimer browserRefresh_;
    int64_t lastRunId_ = 0;
    DashboardDocks* dashboards_ = nullptr;
    InspectorDocks* inspectors_ = nullptr;
    CheckpointImportAction* import_ = nullptr;
    DatabaseCopyAction* copy_ = nullptr;
    RunMergeAction* merge_ = nullptr;
};

} // namespace srigl::studio
