// What the store guarantees against clumsy and hostile use (issue "Nothing lost, ever"): a live
// run cannot be deleted or resumed twice, ids are never reused, other applications' files are
// never touched, reading never writes, text is UTF-8, resume overrides are kept, deleted runs take
// their own checkpoint files with them, and the recorder commits history before a checkpoint.
#include <QtTest>

#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"
#include "tests/support/test_files.hpp"
#include "tests/support/tiny_configs.hpp"

#include "engine/training/checkpoint_file.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "sessions/session/recorded_run.hpp"
#include "sessions/store/recorder.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/sweep_store.hpp"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace srigl;
using namespace srigl::sessions;

namespace {

// The pid of a process that has exited (and was reaped): a killed writer.
int64_t deadPid() {
    const pid_t child = fork();
    if (child == 0) _exit(0);
    int status = 0;
    waitpid(child, &status, 0);
    return child;
}

// Marks run `id` as being trained by process `pid` on this host.
void stampWriter(const std::string& path, int64_t id, int64_t pid) {
    RawDb raw(path);
    raw.exec("UPDATE runs SET status = 'running', pid = " + std::to_string(pid) + " WHERE id = " + std::to_string(id));
}

// Trains `request` to its end (a tiny run) and returns its id.
int64_t trainRecorded(const RunRequest& request) {
    RecordedRun run(request, nullptr);
    const RunEnd end = run.train();
    if (!end.failure.empty() || !end.recordingError.empty() || !end.storeError.empty())
        throw StoreError("training failed: " + end.failure + end.recordingError + end.storeError);
    return run.runId();
}

// Changes the working directory for a scope (the store keeps paths that must not depend on it).
class WorkingDirectory {
public:
    explicit WorkingDirectory(const QString& dir) : previous_(QDir::currentPath()) { QDir::setCurrent(dir); }
    ~WorkingDirectory() { QDir::setCurrent(previous_); }

private:
    QString previous_;
};

} // namespace

class TestStoreSafety : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void deleteOfLiveRunRefused();
    void runIdsNeverReused();
    void secondResumeOfLiveRunRefused();
    void resumeKeepsOverriddenConfig();
    void foreignDatabaseWithOurVersionUntouched();
    void applicationIdMarksOurDatabases();
    void readOnlyReaderSeesKilledRunInterruptedWithoutWriting();
    void invalidUtf8RefusedNamingTheField();
    void deleteRemovesOnlyItsOwnCheckpointFiles();
    void defaultCheckpointsOfTwoDatabasesDiffer();
    void resumeNeverCreatesADatabase();
    void checkpointMayNotBeTheDatabase();
    void recorderCommitsHistoryBeforeCheckpoint();
    void secondResumeOfLiveSweepRefused();
    void resumeFromAnotherDirectoryFindsCheckpoint();
    void newRunNeverOverwritesAnotherRunsCheckpoint();
};

void TestStoreSafety::deleteOfLiveRunRefused() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(minimalRun("live")); // running, by this (live) process
        store.addMetrics(id, {{1, "train_loss", 1.0}});
        const auto refused = storeErrorOf([&] { store.deleteRun(id); });
        QVERIFY(isStoreError(refused));
        QVERIFY2(refused->find("being trained") != std::string::npos, refused->c_str());
        QCOMPARE(store.metrics(id).size(), size_t(1));
        // A run of another live process (the test runner that started us) is refused too.
        store.finishRun(id, RunStatus::Finished, 1, 0.5);
        stampWriter(path, id, getppid());
        QVERIFY(isStoreError(storeErrorOf([&] { store.deleteRun(id); })));
        // Once its writer is gone, it can go.
        stampWriter(path, id, deadPid());
        store.deleteRun(id);
        QVERIFY(store.listRuns().empty());
    });
}

void TestStoreSafety::runIdsNeverReused() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        int64_t last = 0;
        {
            RunStore store(path);
            const int64_t a = store.createRun(minimalRun("a"));
            last = store.createRun(minimalRun("b"));
            for (int64_t id : {a, last}) store.finishRun(id, RunStatus::Finished, 0, -1);
            store.deleteRun(last); // the highest id: a plain max(id)+1 would hand it out again
        }
        RunStore again(path);
        const int64_t next = again.createRun(minimalRun("c"));
        QVERIFY2(next > last, qPrintable(QString("%1 after %2").arg(next).arg(last)));
        QVERIFY(again.run(next).uuid.size() == 32);
        QVERIFY(again.run(next).uuid != again.run(1).uuid);
    });
}

void TestStoreSafety::secondResumeOfLiveRunRefused() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(minimalRun("contested"));
        store.addMetrics(id, {{1, "train_loss", 1.0}, {2, "train_loss", 0.9}});
        stampWriter(path, id, getppid()); // another live process resumed it first
        const auto refused = storeErrorOf([&] { store.reopenRun(id, 1); });
        QVERIFY(isStoreError(refused));
        QVERIFY2(refused->find("run " + std::to_string(id)) != std::string::npos, refused->c_str());
        QCOMPARE(store.metrics(id).size(), size_t(2)); // its records untouched
        stampWriter(path, id, deadPid()); // that process was killed: the run can be taken
        store.reopenRun(id, 1);
        const RunInfo r = store.run(id);
        QVERIFY(r.status == RunStatus::Running);
        QCOMPARE(r.pid, int64_t(getpid()));
        QCOMPARE(store.metrics(id).size(), size_t(1));
    });
}

void TestStoreSafety::resumeKeepsOverriddenConfig() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        NewRun nr = minimalRun("resumed");
        nr.config = R"({"lr":0.1})";
        const int64_t id = store.createRun(nr);
        store.finishRun(id, RunStatus::Interrupted, 300, -1);
        store.reopenRun(id, 300, R"({"lr":0.1})"); // same config: no history
        QVERIFY(store.configHistory(id).empty());
        store.finishRun(id, RunStatus::Interrupted, 400, -1);
        store.reopenRun(id, 400, R"({"lr":0.01})");
        QCOMPARE(store.run(id).config, std::string(R"({"lr":0.01})"));
        const auto history = store.configHistory(id);
        QCOMPARE(history.size(), size_t(1));
        QCOMPARE(history[0].step, int64_t(400));
        QCOMPARE(history[0].config, std::string(R"({"lr":0.1})"));
    });
}

void TestStoreSafety::foreignDatabaseWithOurVersionUntouched() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir, "other.sqlite");
        {
            RawDb raw(path);
            raw.exec("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES('keep');"
                     "PRAGMA user_version=4;");
        }
        const QByteArray before = fileBytes(path);
        for (auto mode : {RunStore::Mode::ReadWrite, RunStore::Mode::ReadWriteExisting, RunStore::Mode::ReadOnly}) {
            const auto refused = storeErrorOf([&] { RunStore store(path, mode); });
            QVERIFY(isStoreError(refused));
            QVERIFY2(refused->find("not a SRigL Studio one") != std::string::npos, refused->c_str());
        }
        QCOMPARE(fileBytes(path), before); // not switched to WAL, not migrated
        QVERIFY(!QFile::exists(QString::fromStdString(path + "-wal")));
        RawDb raw(path);
        QCOMPARE(raw.text("PRAGMA journal_mode"), std::string("delete"));
        // Another application that set its own application_id is refused by it.
        raw.exec("PRAGMA application_id=42");
        const auto refused = storeErrorOf([&] { RunStore store(path); });
        QVERIFY2(isStoreError(refused) && refused->find("application_id 42") != std::string::npos, refused->c_str());
    });
}

void TestStoreSafety::applicationIdMarksOurDatabases() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string fresh = dbIn(dir);
        { RunStore store(fresh); }
        QCOMPARE(RawDb(fresh).scalar("PRAGMA application_id"), int64_t(RunStore::kApplicationId));
        // A file of schema 5 (before application_id) is ours by its tables: migrated and marked.
        const std::string old = dbIn(dir, "old.db");
        {
            RawDb raw(old);
            for (int v = 1; v <= 5; ++v) raw.exec(migrationSql(v));
            raw.exec("PRAGMA user_version=5");
            raw.exec("INSERT INTO runs(id, created_at, status, config) VALUES(7, 1, 'finished', '{}')");
        }
        RunStore store(old);
        QCOMPARE(store.schemaVersion(), RunStore::kSchemaVersion);
        QCOMPARE(RawDb(old).scalar("PRAGMA application_id"), int64_t(RunStore::kApplicationId));
        QCOMPARE(store.run(7).uuid.size(), size_t(32));
        QVERIFY(store.createRun(minimalRun()) > 7);
    });
}

void TestStoreSafety::readOnlyReaderSeesKilledRunInterruptedWithoutWriting() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        int64_t id = 0;
        {
            RunStore store(path);
            id = store.createRun(minimalRun("killed"));
            store.addMetrics(id, {{1, "train_loss", 1.0}});
        }
        stampWriter(path, id, deadPid());
        const QByteArray before = fileBytes(path);
        const QByteArray walBefore = fileBytes(path + "-wal");
        {
            RunStore reader(path, RunStore::Mode::ReadOnly);
            QVERIFY(reader.run(id).status == RunStatus::Interrupted);
            QCOMPARE(reader.listRuns().size(), size_t(1));
            QVERIFY(reader.listRuns()[0].status == RunStatus::Interrupted);
            QCOMPARE(reader.metrics(id).size(), size_t(1));
        }
        QCOMPARE(fileBytes(path), before);
        QCOMPARE(fileBytes(path + "-wal"), walBefore);
        RawDb raw(path);
        QCOMPARE(raw.text("SELECT status FROM runs WHERE id = " + std::to_string(id)), std::string("running"));
    });
}

void TestStoreSafety::invalidUtf8RefusedNamingTheField() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const int64_t id = store.createRun(minimalRun("ok"));
        const std::string bad = "caf\xe9";
        const std::vector<std::pair<std::string, std::function<void()>>> doors = {
            {"notes", [&] { store.setNotes(id, bad); }},
            {"tag", [&] { store.addTag(id, bad); }},
            {"tag", [&] { store.setTags(id, {"fine", bad}); }},
            {"name", [&] { store.createRun(minimalRun(bad)); }},
        };
        for (const auto& [field, write] : doors) {
            const auto refused = storeErrorOf(write);
            QVERIFY2(isStoreError(refused), field.c_str());
            QVERIFY2(refused->find(field + " is not valid UTF-8") != std::string::npos, refused->c_str());
        }
        const RunInfo r = store.run(id);
        QVERIFY(r.tags.empty());
        QCOMPARE(r.notes, std::string());
        QCOMPARE(store.listRuns().size(), size_t(1));
        store.setNotes(id, "caf\xc3\xa9 \xe2\x9c\x93"); // real UTF-8 is welcome
        QCOMPARE(store.run(id).notes, std::string("caf\xc3\xa9 \xe2\x9c\x93"));
    });
}

void TestStoreSafety::deleteRemovesOnlyItsOwnCheckpointFiles() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const std::string own = dbIn(dir, "own.ckpt"), shared = dbIn(dir, "shared.ckpt"), foreign = dbIn(dir, "x.txt"),
                          reused = dbIn(dir, "reused.ckpt"), legacy = dbIn(dir, "legacy.ckpt");
        const int64_t a = store.createRun(minimalRun("a")), b = store.createRun(minimalRun("b")),
                      c = store.createRun(minimalRun("c"));
        for (int64_t id : {a, b, c}) store.finishRun(id, RunStatus::Finished, 2, -1);
        const auto checkpointOf = [&](int64_t id) {
            return QByteArray::fromStdString(encodeCheckpoint({store.run(id).uuid, 1}, "payload"));
        };
        writeFile(own, checkpointOf(a));
        writeFile(own + ".tmp", checkpointOf(a)); // left by a killed writer of run a
        writeFile(shared, checkpointOf(c));
        writeFile(shared + ".tmp", checkpointOf(c)); // run c's writer may be at work
        writeFile(foreign, "not a checkpoint");
        // Run a's file was removed by hand and the path reused by a run of another database.
        writeFile(reused, QByteArray::fromStdString(encodeCheckpoint({"0123456789abcdef", 5}, "payload")));
        // Written before checkpoints carried an identity: a bare Torch archive.
        writeFile(legacy, QByteArray("PK\x03\x04", 4) + QByteArray(22, '\0') + QByteArray("\x0d\0\0\0", 4) +
                              QByteArray("arch/data.pkl") + QByteArray(32, '\0'));
        QVERIFY(looksLikeCheckpoint(legacy));
        store.addCheckpoint(a, 1, own);
        store.addCheckpoint(a, 2, foreign); // a path that was later replaced by someone's file
        store.addCheckpoint(a, 3, reused);
        store.addCheckpoint(a, 4, legacy);
        store.addCheckpoint(b, 1, shared);
        store.addCheckpoint(c, 1, shared);
        auto removed = store.deleteRun(a);
        std::sort(removed.begin(), removed.end());
        QCOMPARE(removed, (std::vector<std::string>{legacy, own}));
        QVERIFY(!QFile::exists(QString::fromStdString(own)));
        QVERIFY(!QFile::exists(QString::fromStdString(own + ".tmp")));
        QVERIFY(QFile::exists(QString::fromStdString(foreign)));
        QVERIFY(QFile::exists(QString::fromStdString(reused))); // another run's checkpoint is kept
        QVERIFY(store.deleteRun(b).empty()); // run c still needs it
        QVERIFY(QFile::exists(QString::fromStdString(shared)));
        QVERIFY(QFile::exists(QString::fromStdString(shared + ".tmp")));
        QCOMPARE(store.deleteRun(c), std::vector<std::string>{shared});
        QVERIFY(!QFile::exists(QString::fromStdString(shared + ".tmp")));
    });
}

void TestStoreSafety::defaultCheckpointsOfTwoDatabasesDiffer() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore a(dbIn(dir, "a.db")), b(dbIn(dir, "b.db"));
        const int64_t ia = a.createRun(minimalRun()), ib = b.createRun(minimalRun());
        QCOMPARE(ia, ib); // both run 1
        const std::string pa = defaultCheckpointPath(a.path(), ia, a.run(ia).uuid);
        const std::string pb = defaultCheckpointPath(b.path(), ib, b.run(ib).uuid);
        QVERIFY2(pa != pb, pa.c_str());
    });
}

void TestStoreSafety::resumeNeverCreatesADatabase() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string typo = dbIn(dir, "typo.db");
        const auto refused = storeErrorOf([&] { RunStore store(typo, RunStore::Mode::ReadWriteExisting); });
        QVERIFY(isStoreError(refused));
        QVERIFY(!QFile::exists(QString::fromStdString(typo)));
    });
}

void TestStoreSafety::checkpointMayNotBeTheDatabase() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir);
        for (const std::string& bad : {db, db + "-wal", db + "-shm", db + "-journal", dir.path().toStdString() + "/./runs.db"}) {
            bool refused = false;
            try {
                requireCheckpointApartFromStore(bad, db);
            } catch (const ConfigError& e) {
                refused = e.key() == "checkpoint";
            }
            QVERIFY2(refused, bad.c_str());
        }
        requireCheckpointApartFromStore(dbIn(dir, "runs.db.ckpt"), db);
    });
}

void TestStoreSafety::recorderCommitsHistoryBeforeCheckpoint() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(minimalRun("recorded"));
        Recorder rec(path, id, {});
        for (int64_t s = 1; s <= 40; ++s) {
            StepMetrics m;
            m.step = s;
            m.loss = 1.0;
            rec.onStep(m);
        }
        rec.onBeforeCheckpoint(40);
        // Without waiting: what a kill -9 right now would leave behind is every step up to 40.
        RawDb raw(path);
        QCOMPARE(raw.scalar("SELECT count(DISTINCT step) FROM metrics WHERE key = 'train_loss'"), int64_t(40));
        QVERIFY(rec.close().empty());
    });
}

void TestStoreSafety::secondResumeOfLiveSweepRefused() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        SweepStore sweeps(store);
        const int64_t id = sweeps.createSweep("grid", "{}", "[]", {});
        RawDb(path).exec("UPDATE sweeps SET pid = " + std::to_string(getppid()) + " WHERE id = " + std::to_string(id));
        const auto refused = storeErrorOf([&] { sweeps.reopenSweep(id); });
        QVERIFY(isStoreError(refused));
        QVERIFY2(refused->find("sweep " + std::to_string(id) + " is being run") != std::string::npos, refused->c_str());
        RawDb(path).exec("UPDATE sweeps SET pid = " + std::to_string(deadPid()) + " WHERE id = " + std::to_string(id));
        sweeps.reopenSweep(id);
        QCOMPARE(sweeps.sweep(id).pid, int64_t(getpid()));
    });
}

void TestStoreSafety::resumeFromAnotherDirectoryFindsCheckpoint() {
    guarded([&] {
        QTemporaryDir dir, elsewhere;
        QVERIFY(QDir(dir.path()).mkdir("work"));
        const std::string db = dbIn(dir, "work/runs.db");
        int64_t id = 0;
        {
            // Trained from the database's parent folder with a relative --db, as a shell user does.
            WorkingDirectory cwd(dir.path());
            RunRequest request;
            request.config = tinyRunConfig("16", 64, 1);
            request.dbPath = "work/runs.db";
            id = trainRecorded(request);
        }
        WorkingDirectory cwd(elsewhere.path());
        const auto last = RunStore(db).lastCheckpoint(id);
        QVERIFY(last.has_value());
        QVERIFY2(std::filesystem::path(last->second).is_absolute(), last->second.c_str());
        // A resume (and export, convert, runs delete) from another directory finds the file.
        const RunRequest resumed = resumeRequest(db, id);
        QVERIFY2(QFile::exists(QString::fromStdString(resumed.checkpoint)), resumed.checkpoint.c_str());
        QCOMPARE(resumed.config.checkpoint, last->second);

        // Runs recorded before the paths were absolute stored them relative to where they trained.
        const std::string name = std::filesystem::path(last->second).filename().string();
        RawDb(db).exec("UPDATE checkpoints SET path = 'work/checkpoints/" + name + "'");
        const auto legacy = RunStore(db).lastCheckpoint(id);
        QVERIFY(legacy.has_value());
        QVERIFY2(QFile::exists(QString::fromStdString(legacy->second)), legacy->second.c_str());
    });
}

void TestStoreSafety::newRunNeverOverwritesAnotherRunsCheckpoint() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir);
        RunRequest first;
        first.config = tinyRunConfig("16", 64, 1);
        first.dbPath = db;
        const int64_t a = trainRecorded(first);
        const std::string fileA = RunStore(db).lastCheckpoint(a)->second;
        const QByteArray bytesA = fileBytes(fileA);
        QVERIFY(!bytesA.isEmpty());

        // srigl train --resume FILE: a new run continued from run a's checkpoint, whose config
        // names that same file.
        RunRequest second;
        second.checkpoint = fileA;
        second.config = readCheckpointConfig(fileA);
        second.config.epochs = 2;
        second.dbPath = db;
        const int64_t b = trainRecorded(second);
        QVERIFY(b != a);
        QCOMPARE(fileBytes(fileA), bytesA); // run a's checkpoint is still run a's
        const std::string fileB = RunStore(db).lastCheckpoint(b)->second;
        QVERIFY2(fileB != fileA, fileB.c_str());
        QCOMPARE(readCheckpointConfig(fileB).checkpoint, fileB);
        // Both runs still resume, each from its own checkpoint.
        for (const int64_t id : {a, b}) {
            RecordedRun again(resumeRequest(db, id), nullptr);
            QCOMPARE(again.runId(), id);
        }
    });
}

QTEST_GUILESS_MAIN(TestStoreSafety)
#include "test_store_safety.moc"
