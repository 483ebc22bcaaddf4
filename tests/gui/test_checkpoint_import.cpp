// File > Import checkpoint… in the real main window: PyTorch checkpoints (written by PyTorch itself,
// tests/support/pytorch_checkpoints.py) imported in the background become one run with status
// imported, selected in the run browser and opened by the scrubber and the layer statistics; a bad
// file is named in the error and, like a cancelled import, records nothing.
#include "sessions/session/import_job.hpp"
#include "sessions/store/run_store.hpp"
#include "widgets/compare/dashboard_docks.hpp"
#include "widgets/inspector/inspector_docks.hpp"
#include "widgets/inspector/step_scrubber.hpp"
#include "widgets/layer_stats/layer_stats_panel.hpp"
#include "widgets/database/checkpoint_import_action.hpp"
#include "widgets/database/import_runner.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/shell/main_window.hpp"

#include "../support/torch_python.hpp"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QFileInfo>
#include <QMenuBar>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace srigl;
using namespace srigl::studio;

class TestCheckpointImport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void fileMenuOffersTheImport();
    void importedRunIsSelectedWithItsLayers();
    void severalCheckpointsBecomeOneNamedRun();
    void badFileIsNamedAndRecordsNothing();
    void cancelledImportRecordsNothing();
    void cancelDuringTheImportDeletesTheRun();

private:
    // A window on its own database, once the browser has read it (null when it did not in time),
    // with an alert that fails the test (a test that expects one installs its own).
    std::unique_ptr<MainWindow> openWindow(const QString& dbName);
    // Triggers the real menu action with these files and name chosen, as a user would.
    static void chooseAndTrigger(MainWindow& w, const QStringList& files, const QString& name = {});
    static size_t storedRuns(const QString& db);

    QTemporaryDir tmp_;
    QString fixtures_;
};

void TestCheckpointImport::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("srigl-tests"));
    QApplication::setApplicationName(QStringLiteral("test_checkpoint_import"));
    QSettings().clear();
    fixtures_ = pytorchFixtures(torchPython());
}

std::unique_ptr<MainWindow> TestCheckpointImport::openWindow(const QString& dbName) {
    auto w = std::make_unique<MainWindow>(StudioOptions{tmp_.filePath(dbName), false});
    w->checkpointImport()->setAlert(
        [](const QString&, const QString& text) { QFAIL(qPrintable("unexpected alert: " + text)); });
    if (!QTest::qWaitFor([&w] { return w->runBrowser()->model()->isOpen(); }, 5000)) return nullptr;
    return w;
}

void TestCheckpointImport::chooseAndTrigger(MainWindow& w, const QStringList& files, const QString& name) {
    w.checkpointImport()->setChooser([files, name] { return CheckpointImportAction::Choice{files, name}; });
    w.checkpointImport()->action()->trigger();
}

size_t TestCheckpointImport::storedRuns(const QString& db) {
    return sessions::RunStore(db.toStdString(), sessions::RunStore::Mode::ReadOnly).listRuns().size();
}

void TestCheckpointImport::fileMenuOffersTheImport() {
    MainWindow w({tmp_.filePath(QStringLiteral("menu.db")), false});
    QMenu* file = nullptr;
    for (auto* a : w.menuBar()->actions())
        if (a->menu() && a->text().remove(QLatin1Char('&')) == QStringLiteral("File")) file = a->menu();
    QVERIFY(file);
    QVERIFY(file->actions().contains(w.checkpointImport()->action()));
    QCOMPARE(w.checkpointImport()->action()->text(), QStringLiteral("Import checkpoint…"));
}

void TestCheckpointImport::importedRunIsSelectedWithItsLayers() {
    SRIGL_REQUIRE_TORCH_PYTHON(fixtures_);
    auto w = openWindow(QStringLiteral("one.db"));
    QVERIFY(w);
    auto* import = w->checkpointImport();
    QSignalSpy imported(import, &CheckpointImportAction::imported);
    chooseAndTrigger(*w, {fixtures_ + "/plain.pt"});
    // The import runs on the job's thread: the action returns at once, with the progress shown.
    QVERIFY(import->runner()->isRunning());
    QVERIFY(!import->action()->isEnabled());
    QVERIFY(import->progressBar()->isVisibleTo(w.get()));
    QTRY_COMPARE_WITH_TIMEOUT(imported.count(), 1, 5000);
    const qint64 id = imported.at(0).at(0).toLongLong();
    QVERIFY(id > 0);
    QVERIFY(import->action()->isEnabled());
    QVERIFY(!import->progressBar()->isVisibleTo(w.get()));

    // The browser lists the run and selects it...
    auto* browser = w->runBrowser();
    QTRY_COMPARE_WITH_TIMEOUT(browser->view()->currentIndex().data(RunTableModel::RunIdRole).toLongLong(), id, 5000);
    const auto& run = browser->model()->run(browser->model()->rowOfRun(id));
    QVERIFY(run.status == sessions::RunStatus::Imported);
    QCOMPARE(QString::fromStdString(run.name), QStringLiteral("plain.pt")); // named as `srigl import` names it
    QVERIFY(std::find(run.tags.begin(), run.tags.end(), "imported") != run.tags.end());
    // ...and the docks that follow the selection open it: the scrubber has its snapshot, and the
    // layer statistics list its layers with the fixture's masks (fc1: constant fan-in 4).
    QTRY_COMPARE_WITH_TIMEOUT(w->inspectors()->scrubber()->runId(), id, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(w->inspectors()->scrubber()->steps().size(), size_t{1}, 5000);
    auto* stats = w->dashboards()->layerStats();
    QTRY_COMPARE_WITH_TIMEOUT(stats->runId(), id, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(stats->table()->rowCount(), 2, 5000);
    QStringList layers;
    for (int r = 0; r < stats->table()->rowCount(); ++r) layers << stats->table()->item(r, 0)->text();
    QCOMPARE(layers, (QStringList{QStringLiteral("fc1"), QStringLiteral("fc2")}));
    QCOMPARE(storedRuns(w->databasePath()), size_t{1});
}

void TestCheckpointImport::severalCheckpointsBecomeOneNamedRun() {
    SRIGL_REQUIRE_TORCH_PYTHON(fixtures_);
    auto w = openWindow(QStringLiteral("steps.db"));
    QVERIFY(w);
    // A status filter that hides imported runs must not hide the new one.
    w->runBrowser()->statusFilter()->setCurrentIndex(
        w->runBrowser()->statusFilter()->findData(QStringLiteral("finished")));
    QSignalSpy imported(w->checkpointImport(), &CheckpointImportAction::imported);
    chooseAndTrigger(*w, {fixtures_ + "/step_300.pt", fixtures_ + "/step_100.pt", fixtures_ + "/step_200.pt"},
                     QStringLiteral("my training"));
    QTRY_COMPARE_WITH_TIMEOUT(imported.count(), 1, 5000);
    const qint64 id = imported.at(0).at(0).toLongLong();
    auto* browser = w->runBrowser();
    QTRY_COMPARE_WITH_TIMEOUT(browser->view()->currentIndex().data(RunTableModel::RunIdRole).toLongLong(), id, 5000);
    QCOMPARE(QString::fromStdString(browser->model()->run(browser->model()->rowOfRun(id)).name),
             QStringLiteral("my training"));
    // One run, a snapshot per file at the step in its name: the scrubber walks them in order.
    QTRY_COMPARE_WITH_TIMEOUT(w->inspectors()->scrubber()->steps(), (std::vector<int64_t>{100, 200, 300}), 5000);
    QCOMPARE(storedRuns(w->databasePath()), size_t{1});
}

void TestCheckpointImport::badFileIsNamedAndRecordsNothing() {
    SRIGL_REQUIRE_TORCH_PYTHON(fixtures_);
    auto w = openWindow(QStringLiteral("bad.db"));
    QVERIFY(w);
    // A good checkpoint and a truncated one: the pair is refused as a whole.
    QFile good(fixtures_ + "/plain.pt");
    QVERIFY(good.open(QIODevice::ReadOnly));
    const QByteArray bytes = good.readAll();
    const QString broken = tmp_.filePath(QStringLiteral("broken_step_2.pt"));
    QFile out(broken);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(bytes.left(bytes.size() / 2));
    out.close();

    QStringList alerts;
    w->checkpointImport()->setAlert([&alerts](const QString&, const QString& text) { alerts << text; });
    QSignalSpy failed(w->checkpointImport(), &CheckpointImportAction::failed);
    QSignalSpy imported(w->checkpointImport(), &CheckpointImportAction::imported);
    chooseAndTrigger(*w, {fixtures_ + "/plain.pt", broken});
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 5000);
    QCOMPARE(failed.at(0).at(1).toBool(), false); // failed, not cancelled
    QCOMPARE(alerts.size(), 1);
    QVERIFY2(alerts.front().contains(QStringLiteral("broken_step_2.pt")), qPrintable(alerts.front()));
    QVERIFY2(alerts.front().contains(QStringLiteral("nothing was recorded")), qPrintable(alerts.front()));
    QVERIFY(w->checkpointImport()->action()->isEnabled());

    // An unknown class inside the pickle: refused with the file named too.
    chooseAndTrigger(*w, {fixtures_ + "/unknown_class.pt"});
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, 5000);
    QCOMPARE(alerts.size(), 2);
    QVERIFY2(alerts.back().contains(QStringLiteral("unknown_class.pt")), qPrintable(alerts.back()));
    QCOMPARE(imported.count(), 0);
    QCOMPARE(storedRuns(w->databasePath()), size_t{0});
    w->runBrowser()->reload();
    QTRY_VERIFY_WITH_TIMEOUT(w->runBrowser()->model()->isOpen(), 5000);
    QCOMPARE(w->runBrowser()->model()->rowCount(), 0);
}

void TestCheckpointImport::cancelledImportRecordsNothing() {
    SRIGL_REQUIRE_TORCH_PYTHON(fixtures_);
    auto w = openWindow(QStringLiteral("cancel.db"));
    QVERIFY(w);
    auto* import = w->checkpointImport();
    QSignalSpy failed(import, &CheckpointImportAction::failed);
    chooseAndTrigger(*w, {fixtures_ + "/step_100.pt", fixtures_ + "/step_200.pt", fixtures_ + "/step_300.pt"});
    QVERIFY(import->runner()->isRunning());
    QTest::mouseClick(import->cancelButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 5000);
    QCOMPARE(failed.at(0).at(1).toBool(), true); // cancelled, so no alert (the default one would QFAIL)
    QCOMPARE(storedRuns(w->databasePath()), size_t{0});
}

void TestCheckpointImport::cancelDuringTheImportDeletesTheRun() {
    SRIGL_REQUIRE_TORCH_PYTHON(fixtures_);
    // The job behind the action, driven directly so the cancel lands exactly while the files are
    // read (the first report comes after the first look at the flag): the run the import then
    // records is deleted again.
    sessions::ImportRequest request;
    request.dbPath = tmp_.filePath(QStringLiteral("late-cancel.db")).toStdString();
    request.files = {(fixtures_ + "/plain.pt").toStdString()};
    std::atomic<bool> cancel{false};
    std::vector<sessions::ImportJobProgress> reports;
    auto report = [&](const sessions::ImportJobProgress& p) {
        reports.push_back(p);
        cancel = true;
    };
    QVERIFY_THROWS_EXCEPTION(sessions::ImportJobCancelled, sessions::runImportJob(request, report, &cancel));
    QCOMPARE(reports.size(), size_t{1});
    QCOMPARE(reports.front().current, std::string("reading plain.pt"));
    QCOMPARE(storedRuns(QString::fromStdString(request.dbPath)), size_t{0});
    // Without the cancel, the same job records the run and reports it.
    cancel = false;
    reports.clear();
    const auto result =
        sessions::runImportJob(request, [&](const sessions::ImportJobProgress& p) { reports.push_back(p); });
    QCOMPARE(reports.size(), size_t{2});
    QCOMPARE(reports.back().done, reports.back().total);
    QVERIFY(result.runId > 0);
    QCOMPARE(storedRuns(QString::fromStdString(request.dbPath)), size_t{1});

    // Several files: one step per file read, and a cancel between two files stops the import there,
    // before anything is written.
    request.dbPath = tmp_.filePath(QStringLiteral("between-files.db")).toStdString();
    request.files.clear();
    for (const char* f : {"step_100.pt", "step_200.pt", "step_300.pt"})
        request.files.push_back((fixtures_ + "/" + f).toStdString());
    reports.clear();
    cancel = false;
    auto stopAtSecond = [&](const sessions::ImportJobProgress& p) {
        reports.push_back(p);
        if (reports.size() == 2) cancel = true;
    };
    QVERIFY_THROWS_EXCEPTION(sessions::ImportJobCancelled, sessions::runImportJob(request, stopAtSecond, &cancel));
    QCOMPARE(reports.size(), size_t{2});
    QCOMPARE(reports[0].total, int64_t{4}); // three files, then the recording
    QCOMPARE(reports[1].done, int64_t{1});
    QCOMPARE(reports[1].current, std::string("reading step_200.pt"));
    QVERIFY(!QFileInfo::exists(QString::fromStdString(request.dbPath)) ||
            storedRuns(QString::fromStdString(request.dbPath)) == 0);
}

QTEST_MAIN(TestCheckpointImport)
#include "test_checkpoint_import.moc"
