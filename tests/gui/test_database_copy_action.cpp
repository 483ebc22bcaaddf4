// File > Save a copy of the database… in the real main window: the copy, taken in the background
// while another connection writes, holds every committed run; an existing file is never replaced
// (the alert says why, the file stays); a cancel leaves nothing at the chosen name.
#include "sessions/store/run_store.hpp"
#include "tests/support/stored_runs.hpp"
#include "widgets/database/database_copy_action.hpp"
#include "widgets/database/database_copy_runner.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/shell/main_window.hpp"

#include <QAction>
#include <QApplication>
#include <QDate>
#include <QDir>
#include <QFile>
#include <QMenuBar>
#include <QProgressBar>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace srigl;
using namespace srigl::studio;

class TestDatabaseCopyAction : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void copiesTheShownDatabaseWhileItIsWritten();
    void existingFileIsNeverReplaced();
    void cancelWritesNothing();

private:
    // A window on `db` once the browser has read it (null when it did not in time), with an alert
    // that fails the test (a test that expects one installs its own).
    std::unique_ptr<MainWindow> openWindow(const QString& db);
    QTemporaryDir tmp_;
};

namespace {

size_t storedRuns(const QString& db) {
    return sessions::RunStore(db.toStdString(), sessions::RunStore::Mode::ReadOnly).listRuns().size();
}

// `runs` runs of `metrics` metrics each, in one transaction per run.
void addRuns(sessions::RunStore& store, int runs, int metrics) {
    for (int r = 0; r < runs; ++r) {
        std::vector<sessions::Metric> m;
        for (int s = 0; s < metrics; ++s) m.push_back({s, "train_loss", 1.0 / (s + 1)});
        store.addMetrics(store.createRun(minimalRun("run " + std::to_string(r))), m);
    }
}

QByteArray bytesOf(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

void TestDatabaseCopyAction::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("srigl-tests"));
    QApplication::setApplicationName(QStringLiteral("test_database_copy_action"));
    QSettings().clear();
}

std::unique_ptr<MainWindow> TestDatabaseCopyAction::openWindow(const QString& db) {
    auto w = std::make_unique<MainWindow>(StudioOptions{db, false});
    w->databaseCopy()->setAlert([](const QString&, const QString& text) { QFAIL(qPrintable("unexpected alert: " + text)); });
    if (!QTest::qWaitFor([&w] { return w->runBrowser()->model()->isOpen(); }, 5000)) return nullptr;
    return w;
}

void TestDatabaseCopyAction::copiesTheShownDatabaseWhileItIsWritten() {
    const QString db = tmp_.filePath(QStringLiteral("written.db")), out = tmp_.filePath(QStringLiteral("backup/copy.db"));
    sessions::RunStore writer(db.toStdString());
    addRuns(writer, 2, 50);
    auto w = openWindow(db);
    QVERIFY(w);
    addRuns(writer, 1, 50); // a commit the window never read, still in written.db-wal
    QVERIFY(QFileInfo(db + QStringLiteral("-wal")).size() > 0);

    QMenu* file = nullptr;
    for (auto* a : w->menuBar()->actions())
        if (a->menu() && a->text().remove(QLatin1Char('&')) == QStringLiteral("File")) file = a->menu();
    QVERIFY(file && file->actions().contains(w->databaseCopy()->action()));
    QString suggested;
    w->databaseCopy()->setChooser([&](const QString& s) {
        suggested = s;
        return out;
    });
    QSignalSpy finished(w->databaseCopy(), &DatabaseCopyAction::finished);
    w->databaseCopy()->action()->trigger();
    QCOMPARE(suggested, tmp_.filePath(QStringLiteral("written-copy-%1.db").arg(QDate::currentDate().toString(Qt::ISODate))));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
    QVERIFY(finished.at(0).at(0).toBool());
    const QString message = finished.at(0).at(1).toString();
    QVERIFY2(message.contains(QStringLiteral("Copied 3 run(s)")) && message.contains(QStringLiteral("checkpoints")),
             qPrintable(message));
    QCOMPARE(storedRuns(out), size_t(3));
    QVERIFY(w->databaseCopy()->action()->isEnabled());
    QVERIFY(!w->databaseCopy()->strip()->isVisibleTo(w.get()));
}

void TestDatabaseCopyAction::existingFileIsNeverReplaced() {
    const QString db = tmp_.filePath(QStringLiteral("kept.db")), out = tmp_.filePath(QStringLiteral("taken.db"));
    {
        sessions::RunStore store(db.toStdString());
        addRuns(store, 1, 5);
    }
    QFile taken(out);
    QVERIFY(taken.open(QIODevice::WriteOnly));
    taken.write("last week's copy");
    taken.close();
    auto w = openWindow(db);
    QVERIFY(w);
    QString alert;
    w->databaseCopy()->setAlert([&](const QString&, const QString& text) { alert = text; });
    w->databaseCopy()->setChooser([&](const QString&) { return out; });
    QSignalSpy finished(w->databaseCopy(), &DatabaseCopyAction::finished);
    w->databaseCopy()->action()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
    QVERIFY(!finished.at(0).at(0).toBool());
    QVERIFY2(alert.contains(QStringLiteral("exists; a copy never replaces a file")) &&
                 alert.contains(QStringLiteral("nothing was written")),
             qPrintable(alert));
    QCOMPARE(bytesOf(out), QByteArray("last week's copy"));
}

void TestDatabaseCopyAction::cancelWritesNothing() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("big.db")), out = dir.filePath(QStringLiteral("copy.db"));
    {
        sessions::RunStore store(db.toStdString());
        addRuns(store, 4, 20000);
    }
    auto w = openWindow(db);
    QVERIFY(w);
    QSignalSpy finished(w->databaseCopy(), &DatabaseCopyAction::finished);
    QVERIFY(w->databaseCopy()->copyTo(out));
    QVERIFY(w->databaseCopy()->strip()->isVisibleTo(w.get()));
    QVERIFY(w->runningWork().join(QLatin1Char('\n')).contains(QStringLiteral("the copy of the database")));
    w->databaseCopy()->cancel(); // before the job's first look at the flag
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
    QVERIFY(!finished.at(0).at(0).toBool());
    QVERIFY2(finished.at(0).at(1).toString().contains(QStringLiteral("cancelled; nothing was written")),
             qPrintable(finished.at(0).at(1).toString()));
    QStringList names = QDir(dir.path()).entryList(QDir::Files | QDir::Hidden | QDir::System);
    names.removeAll(QStringLiteral("big.db-wal"));
    names.removeAll(QStringLiteral("big.db-shm"));
    QCOMPARE(names, QStringList({QStringLiteral("big.db")}));
}

QTEST_MAIN(TestDatabaseCopyAction)
#include "test_database_copy_action.moc"
