// copyDatabase (srigl runs backup): a copy of runs.db taken while a run writes holds every commit,
// also those still in runs.db-wal (which `cp runs.db` misses), and nothing uncommitted; it never
// replaces a file, and a cancel, a full disk or a killed copy leaves nothing behind.
#include <QtTest>

#include "sessions/store/database_copy.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"
#include "tests/gui/hostile_paths.hpp"
#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"
#include "tests/support/test_files.hpp"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <string>

using namespace srigl::sessions;

namespace {

bool contains(const std::optional<std::string>& error, const char* words) {
    return error && error->find(words) != std::string::npos;
}

// Every name in the folder, hidden ones too, but the source's own WAL files: a copy that failed
// must leave no temporary.
QStringList namesIn(const QTemporaryDir& dir) {
    QStringList names =
        QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDir::Name);
    names.removeAll(QStringLiteral("runs.db-wal"));
    names.removeAll(QStringLiteral("runs.db-shm"));
    return names;
}

// A database of `runs` runs with `metrics` metrics each, written and closed.
std::string filledDatabase(const QTemporaryDir& dir, int runs, int metrics) {
    const std::string db = dbIn(dir);
    RunStore store(db);
    for (int r = 0; r < runs; ++r) {
        std::vector<Metric> m;
        for (int s = 0; s < metrics; ++s) m.push_back({s, "train_loss", 1.0 / (s + 1)});
        const int64_t id = store.createRun(minimalRun("run " + std::to_string(r)));
        store.addMetrics(id, m);
    }
    return db;
}

} // namespace

class TestDatabaseCopy : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void copyWhileARunWritesHoldsEveryCommit();
    void neverReplacesAFile();
    void cancelLeavesNothing();
    void fullDiskLeavesNothing();
    void killedCopyIsClearedByTheNext();
    void refusesADatabaseThatIsNotOurs();
};

void TestDatabaseCopy::copyWhileARunWritesHoldsEveryCommit() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir), out = dir.filePath("backups/today.db").toStdString();
        // The writer stays open: its commits are in runs.db-wal, not yet in runs.db.
        RunStore writer(db);
        const int64_t id = writer.createRun(minimalRun("training"));
        std::vector<Metric> steps;
        for (int s = 1; s <= 500; ++s) steps.push_back({s, "train_loss", 1.0 / s});
        writer.addMetrics(id, steps);
        QVERIFY(fileBytes(db + "-wal").size() > 0);
        // And it is in the middle of a transaction the copy must not see.
        writer.database().exec("BEGIN IMMEDIATE");
        writer.addMetrics(id, {{501, "uncommitted", 1.0}});
        int calls = 0;
        int64_t lastWritten = -1, expected = 0;
        const DatabaseCopy copy = copyDatabase(db, out, [&](int64_t written, int64_t total) {
            ++calls;
            lastWritten = written;
            expected = total;
            return true;
        });
        writer.database().exec("ROLLBACK");
        QCOMPARE(copy.runs, int64_t(1));
        QVERIFY(calls > 0 && lastWritten >= 0 && expected > 0);
        QCOMPARE(copy.bytes, int64_t(QFileInfo(QString::fromStdString(out)).size()));

        RunStore read(out, RunStore::Mode::ReadOnly);
        QCOMPARE(read.run(id).name, std::string("training"));
        const auto metrics = read.metrics(id);
        QCOMPARE(int(metrics.size()), 500);
        for (const Metric& m : metrics) QVERIFY(m.key != "uncommitted");
        // The writer goes on, into its own file only.
        writer.addMetrics(id, {{502, "train_loss", 0.25}});
        QCOMPARE(int(read.metrics(id).size()), 500);
        QCOMPARE(int(writer.metrics(id).size()), 501);
        QCOMPARE(QDir(dir.filePath("backups")).entryList(QDir::Files | QDir::Hidden).size(), 1);
    });
}

void TestDatabaseCopy::neverReplacesAFile() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = filledDatabase(dir, 1, 500);
        const QByteArray source = fileBytes(db);
        const std::string older = dir.filePath("older.db").toStdString();
        writeFile(older, "an earlier copy, or anything else");
        QVERIFY(contains(storeErrorOf([&] { copyDatabase(db, older); }), "exists; a copy never replaces a file"));
        QCOMPARE(fileBytes(older), QByteArray("an earlier copy, or anything else"));
        // The database itself, or a link to it.
        QVERIFY(contains(storeErrorOf([&] { copyDatabase(db, db); }), "exists"));
        const std::string link = dir.filePath("link.db").toStdString();
        QVERIFY(QFile::link(QString::fromStdString(db), QString::fromStdString(link)));
        QVERIFY(contains(storeErrorOf([&] { copyDatabase(db, link); }), "exists"));
        // A link to nothing is a name taken too: the copy is not put through it.
        const std::string dangling = dir.filePath("dangling.db").toStdString();
        QVERIFY(QFile::link(dir.filePath("nowhere.db"), QString::fromStdString(dangling)));
        QVERIFY(contains(storeErrorOf([&] { copyDatabase(db, dangling); }), "exists; a copy never replaces a file"));
        QVERIFY(!QFile::exists(dir.filePath("nowhere.db")));
        QVERIFY(contains(storeErrorOf([&] { copyDatabase(db, dir.path().toStdString()); }), "is a folder"));
        // Another process takes the name while the copy is written: its file is kept, ours dropped.
        const std::string raced = dir.filePath("raced.db").toStdString();
        const auto race = storeErrorOf([&] {
            copyDatabase(db, raced, [&](int64_t, int64_t) {
                if (!QFile::exists(QString::fromStdString(raced))) writeFile(raced, "the other process's copy");
                return true;
            });
        });
        QVERIFY2(contains(race, "appeared while the copy was written"), race.value_or("none").c_str());
        QCOMPARE(fileBytes(raced), QByteArray("the other process's copy"));
        QVERIFY(QFile::remove(QString::fromStdString(raced)));
        QCOMPARE(fileBytes(db), source);
        QCOMPARE(namesIn(dir), QStringList({"dangling.db", "link.db", "older.db", "runs.db"}));
    });
}

void TestDatabaseCopy::cancelLeavesNothing() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = filledDatabase(dir, 3, 200), out = dir.filePath("copy.db").toStdString();
        const auto cancelled = storeErrorOf([&] { copyDatabase(db, out, [](int64_t, int64_t) { return false; }); });
        QVERIFY2(contains(cancelled, "the copy was cancelled; nothing was written"), cancelled.value_or("none").c_str());
        const auto thrown = storeErrorOf([&] {
            copyDatabase(db, out, [](int64_t, int64_t) -> bool { throw std::runtime_error("the window closed"); });
        });
        QVERIFY2(contains(thrown, "stopped (the window closed)"), thrown.value_or("none").c_str());
        QCOMPARE(namesIn(dir), QStringList({"runs.db"}));
        QCOMPARE(copyDatabase(db, out).runs, int64_t(3)); // and the source is fine for the next try
    });
}

void TestDatabaseCopy::fullDiskLeavesNothing() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = filledDatabase(dir, 4, 2000), out = dir.filePath("copy.db").toStdString();
        QVERIFY(fileBytes(db).size() > 64 * 1024);
        std::optional<std::string> full;
        {
            srigl::test::FileSizeLimit limit(32 * 1024);
            full = storeErrorOf([&] { copyDatabase(db, out); });
        }
        QVERIFY2(contains(full, "cannot write the copy") && contains(full, "nothing was written"),
                 full.value_or("none").c_str());
        QCOMPARE(namesIn(dir), QStringList({"runs.db"}));
        QCOMPARE(RunStore(db, RunStore::Mode::ReadOnly).listRuns().size(), size_t(4));
    });
}

void TestDatabaseCopy::killedCopyIsClearedByTheNext() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = filledDatabase(dir, 1, 3), out = dir.filePath("copy.db").toStdString();
        // What a copy killed by SIGKILL leaves (pid 2147483646 is no process), and one of a live process.
        const std::string dead = dir.filePath(".copy.db.srigl-partial-2147483646-0.part").toStdString();
        const std::string live =
            dir.filePath(QStringLiteral(".copy.db.srigl-partial-%1-0.part").arg(::getppid())).toStdString();
        writeFile(dead, "half a copy");
        writeFile(live, "another process's copy in progress");
        copyDatabase(db, out);
        QVERIFY(!QFile::exists(QString::fromStdString(dead)));
        QVERIFY(QFile::exists(QString::fromStdString(live)));
        QCOMPARE(RunStore(out, RunStore::Mode::ReadOnly).listRuns().size(), size_t(1));
    });
}

void TestDatabaseCopy::refusesADatabaseThatIsNotOurs() {
    guarded([] {
        QTemporaryDir dir;
        const std::string other = dbIn(dir, "other.db"), out = dir.filePath("copy.db").toStdString();
        RawDb(other).exec("CREATE TABLE notes(text TEXT); INSERT INTO notes VALUES('not runs')");
        QVERIFY(contains(storeErrorOf([&] { copyDatabase(other, out); }), "not a SRigL Studio one"));
        QVERIFY(contains(storeErrorOf([&] { copyDatabase(dbIn(dir, "missing.db"), out); }), "no such database"));
        QVERIFY(!QFile::exists(QString::fromStdString(out)));
    });
}

QTEST_GUILESS_MAIN(TestDatabaseCopy)
#include "test_database_copy.moc"
