// The main window: its docks, the session shortcuts, the theme toggle, the saved layout, and
// Start refusing an invalid config with the engine's message, and a default layout that fits 1440 x 900.
#include "widgets/launch/config_form.hpp"
#include "widgets/launch/launcher_panel.hpp"
#include "widgets/live/live_session_panel.hpp"
#include "widgets/shell/main_window.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/sweeps/sweep_panel.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/sweep_store.hpp"
#include "widgets/common/theme.hpp"

#include <QAction>
#include <QMessageBox>
#include <QPushButton>
#include <QTimer>
#include <QApplication>
#include <QDockWidget>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>

using namespace srigl;
using namespace srigl::studio;

// A small MLP on 640 synthetic samples, typed into the launcher as a user would.
static void typeTinyConfig(ConfigForm* form, const QString& epochs) {
    form->setValue(QStringLiteral("hidden"), QStringLiteral("16"));
    form->setValue(QStringLiteral("synthetic_train"), QStringLiteral("640"));
    form->setValue(QStringLiteral("synthetic_test"), QStringLiteral("100"));
    form->setValue(QStringLiteral("batch_size"), QStringLiteral("32"));
    form->setValue(QStringLiteral("epochs"), epochs);
    form->validateNow();
}

class TestMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void hasEveryDock();
    void sessionShortcutsAreAssigned();
    void f5StartsTheLaunchersConfig();
    void startRefusesAnInvalidConfig();
    void themeToggleSwitchesPalette();
    void layoutIsSavedAndRestored();
    void defaultLayoutFitsA1440x900Screen();
    void quitAsksAboutEveryRunningJob();

private:
    QTemporaryDir dir_;
};

void TestMainWindow::initTestCase() {
    QStandardPaths::setTestModeEnabled(true); // QSettings go to a test location, not the user's
    QApplication::setOrganizationName(QStringLiteral("srigl-tests"));
    QApplication::setApplicationName(QStringLiteral("test_main_window"));
    QSettings().clear();
    applyTheme(Theme::Dark);
}

void TestMainWindow::hasEveryDock() {
    MainWindow w({dir_.filePath(QStringLiteral("docks.db")), false});
    QStringList names;
    for (auto* d : w.findChildren<QDockWidget*>()) names << d->objectName();
    names.sort();
    // Object names are what saveState() keys the layout on: each must exist once.
    QCOMPARE(names, (QStringList{QStringLiteral("compareDock"), QStringLiteral("initVarianceDock"), QStringLiteral("launcherDock"),
                                 QStringLiteral("layerStatsDock"), QStringLiteral("liveSessionDock"),
                                 QStringLiteral("maskInspectorDock"), QStringLiteral("runBrowserDock"),
                                 QStringLiteral("structureDock"), QStringLiteral("sweepsDock"),
                                 QStringLiteral("timingDock"), QStringLiteral("weightHeatmapDock")}));
    QCOMPARE(w.databasePath(), dir_.filePath(QStringLiteral("docks.db")));
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(w.databasePath()), 10000); // the browser opened (and created) it
}

void TestMainWindow::sessionShortcutsAreAssigned() {
    MainWindow w({dir_.filePath(QStringLiteral("keys.db")), false});
    auto* live = w.liveSession();
    QCOMPARE(live->startAction()->shortcut(), QKeySequence(Qt::Key_F5));
    QCOMPARE(live->pauseAction()->shortcut(), QKeySequence(Qt::Key_F6));
    QCOMPARE(live->stepAction()->shortcut(), QKeySequence(Qt::Key_F10));
    QCOMPARE(live->stopAction()->shortcut(), QKeySequence(Qt::SHIFT | Qt::Key_F5));
    QCOMPARE(live->checkpointAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_K));
    // No two actions of the window share a key.
    QSet<QString> seen;
    for (auto* a : w.findChildren<QAction*>()) {
        if (a->shortcut().isEmpty()) continue;
        const QString key = a->shortcut().toString();
        QVERIFY2(!seen.contains(key), qPrintable(key));
        seen.insert(key);
    }
}

void TestMainWindow::f5StartsTheLaunchersConfig() {
    const QString db = dir_.filePath(QStringLiteral("f5.db"));
    MainWindow w({db, false});
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* form = w.launcher()->form();
    typeTinyConfig(form, QStringLiteral("1"));
    QVERIFY(form->isValid());
    QTest::keyClick(&w, Qt::Key_F5);
    auto& c = w.liveSession()->controller();
    QVERIFY(c.hasSession());
    QCOMPARE(c.config().synthetic_train, int64_t(640));
    QTRY_VERIFY_WITH_TIMEOUT(isTerminal(c.snapshot().state), 60000);
    QCOMPARE(toString(c.snapshot().state), std::string("finished"));
    // The finished run shows up in the browser.
    QTRY_COMPARE_WITH_TIMEOUT(w.runBrowser()->model()->rowCount(), 1, 5000);
    // The live row exists while it trains; the reload after the end is read in the background.
    QTRY_COMPARE_WITH_TIMEOUT(w.runBrowser()->model()->index(0, RunTableModel::Status).data().toString(),
                              QStringLiteral("finished"), 5000);
}

void TestMainWindow::startRefusesAnInvalidConfig() {
    MainWindow w({dir_.filePath(QStringLiteral("bad.db")), false});
    w.launcher()->form()->setValue(QStringLiteral("gamma_sal"), QStringLiteral("2"));
    QVERIFY(!w.startFromLauncher());
    QVERIFY(!w.liveSession()->controller().hasSession());
    QCOMPARE(w.statusBar()->currentMessage(), QStringLiteral("Cannot start: gamma_sal: must be in [0, 1]"));
}

void TestMainWindow::themeToggleSwitchesPalette() {
    MainWindow w({dir_.filePath(QStringLiteral("theme.db")), false});
    applyTheme(Theme::Dark);
    QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 128);
    w.toggleTheme();
    QCOMPARE(currentTheme(), Theme::Light);
    QVERIFY(QApplication::palette().color(QPalette::Window).lightness() > 128);
    QCOMPARE(QSettings().value(QStringLiteral("theme")).toString(), QStringLiteral("light"));
    w.toggleTheme();
    QCOMPARE(currentTheme(), Theme::Dark);
    QCOMPARE(QSettings().value(QStringLiteral("theme")).toString(), QStringLiteral("dark"));
}

void TestMainWindow::layoutIsSavedAndRestored() {
    // Its own settings file: CTest runs this suite's other cases in parallel processes, and each
    // one's initTestCase clears the suite's settings, which could wipe the layout saved here.
    QApplication::setApplicationName(QStringLiteral("test_main_window_layout"));
    QSettings().clear();
    const QString db = dir_.filePath(QStringLiteral("layout.db"));
    {
        MainWindow w({db, true});
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.findChild<QDockWidget*>(QStringLiteral("runBrowserDock"))->hide();
        w.findChild<QDockWidget*>(QStringLiteral("maskInspectorDock"))->hide();
        w.close(); // closeEvent saves the layout
    }
    MainWindow again({db, true});
    again.show();
    QVERIFY(QTest::qWaitForWindowExposed(&again));
    QVERIFY(!again.findChild<QDockWidget*>(QStringLiteral("runBrowserDock"))->isVisible());
    QVERIFY(again.findChild<QDockWidget*>(QStringLiteral("launcherDock"))->isVisible());
    again.resetLayout();
    QVERIFY(again.findChild<QDockWidget*>(QStringLiteral("runBrowserDock"))->isVisible());
    // Every dock is back (tabbed ones behind another tab count as shown: their View toggle is on).
    for (auto* d : again.findChildren<QDockWidget*>()) QVERIFY2(d->toggleViewAction()->isChecked(), qPrintable(d->objectName()));
}

void TestMainWindow::defaultLayoutFitsA1440x900Screen() {
    MainWindow w({dir_.filePath(QStringLiteral("small.db")), false});
    // The window takes 90% of its screen; offscreen has no real one, so size it as it would open on
    // a 1440 x 900 screen.
    w.resize(1440 * 9 / 10, 900 * 9 / 10);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QTest::qWait(50);
    for (auto* d : w.findChildren<QDockWidget*>())
            std::printf("%-20s %4d x %4d at (%4d, %4d), minimum %4d x %4d\n", qPrintable(d->objectName()), d->width(),
                        d->height(), d->x(), d->y(), d->minimumSizeHint().width(), d->minimumSizeHint().height());
    std::fflush(stdout);
    // The window as built fits the screen it is sized for (its docks' minimum sizes do not push it
    // wider), and every dock on show gets room to be used.
    QVERIFY2(w.width() <= 1440 && w.height() <= 900, qPrintable(QStringLiteral("%1 x %2").arg(w.width()).arg(w.height())));
    auto* launcher = w.findChild<QDockWidget*>(QStringLiteral("launcherDock"));
    auto* live = w.findChild<QDockWidget*>(QStringLiteral("liveSessionDock"));
    QVERIFY(w.tabifiedDockWidgets(launcher).contains(live));
    QVERIFY(!launcher->visibleRegion().isEmpty()); // a new user sees the launcher first
    live->raise();
    QTest::qWait(50);
    for (const char* name : {"launcherDock", "liveSessionDock", "maskInspectorDock", "runBrowserDock"}) {
        auto* d = w.findChild<QDockWidget*>(QString::fromLatin1(name));
        QVERIFY2(d->width() >= 540 && d->height() >= 200, name);
    }
    QVERIFY(!live->visibleRegion().isEmpty());
    QVERIFY(live->height() >= 400);
    QVERIFY(w.findChild<QDockWidget*>(QStringLiteral("maskInspectorDock"))->height() >= 600);
}


// Answers the next modal question with `button` and keeps its text, from inside its event loop;
// gives up after `tries` looks, 50 ms apart.
static void answerNextQuestion(QMessageBox::StandardButton button, QString* text, int tries = 100) {
    QTimer::singleShot(50, [button, text, tries] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        if (!box) {
            if (tries > 1) answerNextQuestion(button, text, tries - 1); // not shown yet
            return;
        }
        *text = box->text();
        // With SRIGL_SCREENSHOT_DIR set: a picture of the question, to look at.
        if (const QString shots = qEnvironmentVariable("SRIGL_SCREENSHOT_DIR"); !shots.isEmpty())
            box->grab().save(QDir(shots).filePath(QStringLiteral("studio_quit_question.png")));
        box->button(button)->click();
    });
}

void TestMainWindow::quitAsksAboutEveryRunningJob() {
    // Before, only a live run was asked about: closing the window stopped a sweep of many hours
    // without a word. Now every running job is named, and "No" keeps them all running.
    QApplication::setApplicationName(QStringLiteral("test_main_window_quit"));
    QSettings().clear();
    const QString db = dir_.filePath(QStringLiteral("quit.db"));
    {
        MainWindow w({db, true});
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.runningWork().isEmpty());
        auto* form = w.launcher()->form();
        typeTinyConfig(form, QStringLiteral("400")); // runs until stopped
        QVERIFY(form->isValid());
        w.sweeps()->setMethods({QStringLiteral("srigl")});
        w.sweeps()->setSparsities(QStringLiteral("0.9"));
        QVERIFY(w.sweeps()->startSweep());
        QVERIFY(w.startFromLauncher());
        QTRY_COMPARE_WITH_TIMEOUT(w.runningWork().size(), 2, 10000);
        QVERIFY(w.runningWork()[0].startsWith(QStringLiteral("the live run")));
        QVERIFY(w.runningWork()[1].startsWith(QStringLiteral("the sweep")));

        QString asked;
        answerNextQuestion(QMessageBox::No, &asked);
        QVERIFY(!w.close());
        QVERIFY(asked.contains(QStringLiteral("the live run")));
        QVERIFY(asked.contains(QStringLiteral("the sweep")));
        QVERIFY(w.isVisible());
        QVERIFY(w.sweeps()->running());
        QVERIFY(w.sessionController().isActive());

        answerNextQuestion(QMessageBox::Yes, &asked);
        QVERIFY(w.close());
    } // the window's destructor stops the run and the sweep and waits for both
    sessions::RunStore store(db.toStdString(), sessions::RunStore::Mode::ReadOnly);
    const auto sweeps = sessions::SweepStore(store).listSweeps(); // stopped, so Resume continues it
    QCOMPARE(int(sweeps.size()), 1);
    QCOMPARE(sessions::toString(sweeps[0].status), std::string("stopped"));
    const auto runs = store.listRuns();
    QCOMPARE(int(runs.size()), 2);
    for (const auto& run : runs) QCOMPARE(sessions::toString(run.status), std::string("stopped"));

    // A signal (SIGTERM, a logout) closes without the question: nobody may be there to answer it.
    MainWindow w({db, true});
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.startFromLauncher());
    QTRY_VERIFY_WITH_TIMEOUT(!w.runningWork().isEmpty(), 10000);
    QString unexpected;
    answerNextQuestion(QMessageBox::No, &unexpected, 2); // were one asked, the test would go on, and fail
    w.closeWithoutAsking();
    QVERIFY(!w.isVisible());
    QVERIFY2(unexpected.isEmpty(), qPrintable(unexpected));
}

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
