// File > Merge runs from a database… in the real main window: another database's runs are copied
// in the background and listed by the run browser; the skipped ones are named with the reason; a
// merged run is not offered for continuing here; a file that is not ours is explained, nothing merged.
#include "sessions/store/run_store.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/database/run_merge_action.hpp"
#include "widgets/database/run_merge_runner.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/shell/main_window.hpp"

#include <QAction>
#include <QApplication>
#include <QMenuBar>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

using namespace srigl;
using namespace srigl::studio;

class TestRunMergeAction : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void mergesAnotherDatabasesRuns();
    void foreignFileIsExplained();

private:
    std::unique_ptr<MainWindow> openWindow(const QString& db);
    QTemporaryDir tmp_;
};

void TestRunMergeAction::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("srigl-tests"));
    QApplication::setApplicationName(QStringLiteral("test_run_merge_action"));
    QSettings().clear();
}

std::unique_ptr<MainWindow> TestRunMergeAction::openWindow(const QString& db) {
    auto w = std::make_unique<MainWindow>(StudioOptions{db, false});
    if (!QTest::qWaitFor([&w] { return w->runBrowser()->model()->isOpen(); }, 5000)) return nullptr;
    return w;
}

void TestRunMergeAction::mergesAnotherDatabasesRuns() {
    const QString shown = tmp_.filePath(QStringLiteral("laptop.db")), node = tmp_.filePath(QStringLiteral("node07.db"));
    {
        sessions::RunStore here(shown.toStdString());
        here.finishRun(here.createRun(minimalRun("local")), sessions::RunStatus::Finished, 1, 0.5);
        sessions::RunStore there(node.toStdString());
        there.finishRun(there.createRun(minimalRun("finished there")), sessions::RunStatus::Finished, 10, 0.9);
        there.finishRun(there.createRun(minimalRun("stopped there")), sessions::RunStatus::Stopped, 5, -1);
        there.createRun(minimalRun("still training")); // by this live process
    }
    auto w = openWindow(shown);
    QVERIFY(w);
    QMenu* file = nullptr;
    for (auto* a : w->menuBar()->actions())
        if (a->menu() && a->text().remove(QLatin1Char('&')) == QStringLiteral("File")) file = a->menu();
    QVERIFY(file && file->actions().contains(w->runMerge()->action()));
    QString alert;
    w->runMerge()->setAlert([&](const QString&, const QString& text) { alert = text; });
    w->runMerge()->setChooser([&] { return node; });
    QSignalSpy finished(w->runMerge(), &RunMergeAction::finished);
    w->runMerge()->action()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
    QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(1).toString()));
    QCOMPARE(finished.at(0).at(1).toString(), QStringLiteral("Merged 2 run(s) from node07.db; 1 skipped."));
    QVERIFY2(alert.contains(QStringLiteral("run 3: still running")), qPrintable(alert));

    auto* browser = w->runBrowser();
    QTRY_COMPARE_WITH_TIMEOUT(browser->model()->rowCount(), 3, 5000);
    const int row = browser->model()->rowOfRun(3); // "stopped there", now run 3 here
    QCOMPARE(QString::fromStdString(browser->model()->run(row).name), QStringLiteral("stopped there"));
    QVERIFY(browser->model()->index(row, RunTableModel::Name).data(Qt::ToolTipRole).toString().contains(
        QStringLiteral("Merged from")));
    browser->view()->sortByColumn(RunTableModel::Id, Qt::AscendingOrder);
    browser->view()->selectRow(2);
    QCOMPARE(browser->view()->currentIndex().data(RunTableModel::RunIdRole).toLongLong(), 3LL);
    QCOMPARE(browser->continuableRun(), qint64(0)); // it continues in node07.db
}

void TestRunMergeAction::foreignFileIsExplained() {
    const QString shown = tmp_.filePath(QStringLiteral("mine.db")), other = tmp_.filePath(QStringLiteral("other.db"));
    {
        sessions::RunStore here(shown.toStdString());
        here.createRun(minimalRun("local"));
    }
    RawDb(other.toStdString()).exec("CREATE TABLE notes(text TEXT)");
    auto w = openWindow(shown);
    QVERIFY(w);
    QString alert;
    w->runMerge()->setAlert([&](const QString&, const QString& text) { alert = text; });
    QSignalSpy finished(w->runMerge(), &RunMergeAction::finished);
    QVERIFY(w->runMerge()->mergeFrom(other));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
    QVERIFY(!finished.at(0).at(0).toBool());
    QVERIFY2(alert.contains(QStringLiteral("Could not merge the runs of")) &&
                 alert.contains(QStringLiteral("not a SRigL Studio one")),
             qPrintable(alert));
    QCOMPARE(sessions::RunStore(shown.toStdString(), sessions::RunStore::Mode::ReadOnly).listRuns().size(), size_t(1));
}

QTEST_MAIN(TestRunMergeAction)
#include "test_run_merge_action.moc"
