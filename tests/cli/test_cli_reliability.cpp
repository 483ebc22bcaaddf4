// `srigl train` against a hostile or clumsy user (issue "Nothing lost, ever"): a checkpoint path
// that is the database or a folder, a full disk during a checkpoint, another run's checkpoint, two
// resumes at once, a mistyped database, overrides on resume, a kill right after a checkpoint, a
// database another process locks while the run trains.
// Each case: the documented exit code, a message naming the file or key, nothing stored lost.
#include <QtTest>

#include "tests/support/raw_db.hpp"
#include "tests/support/srigl_process.hpp"

#include "engine/training/checkpoint_file.hpp"
#include "sessions/store/run_store.hpp"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>

#include <csignal>
#include <set>
#include <string>

using namespace srigl;

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

SriglResult runSrigl(const QStringList& args, int timeoutMs = 300000) { return runSriglProcess(kSrigl, args, timeoutMs); }

// A tiny recorded run: 16 steps of a small MLP.
QStringList tiny(const QString& db) {
    return {"train", "--db",  db, "-q", "--set", "synthetic_train=256", "--set", "synthetic_test=64", "--set",
            "epochs=1", "--set", "batch_size=16", "--set", "hidden=32", "--set", "delta_t=4", "--set", "threads=1"};
}

QByteArray bytesOf(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// A tiny run recorded in `db` that checkpoints into `ckpt`; the checkpoint's bytes.
QByteArray trainWithCheckpoint(const QString& db, const QString& ckpt) {
    auto args = tiny(db);
    args << "--set" << "checkpoint=" + ckpt;
    const SriglResult r = runSrigl(args);
    if (r.exitCode != 0) qWarning("%s", qPrintable(r.err));
    return bytesOf(ckpt);
}

std::string dbRunCheckpoint(const QString& db, int64_t runId) {
    sessions::RunStore store(db.toStdString(), sessions::RunStore::Mode::ReadOnly);
    const auto last = store.lastCheckpoint(runId);
    return last ? last->second : std::string();
}

} // namespace

class TestCliReliability : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void checkpointOverDatabaseRefused();
    void checkpointFolderRefusedBeforeTraining();
    void checkpointOverForeignFileRefused();
    void fullDiskDuringCheckpointIsACleanError();
    void resumeRefusesAnotherRunsCheckpoint();
    void checkpointsOfTwoDatabasesNeverCollide();
    void secondConcurrentResumeRefused();
    void resumeWithMistypedDatabaseCreatesNothing();
    void resumeOverridesAreStored();
    void killAfterCheckpointLeavesNoHole();
    void corruptCheckpointRefusedOnResume();
    void lockedDatabaseDuringTrainingLosesNothing();
};

void TestCliReliability::checkpointOverDatabaseRefused() {
    QTemporaryDir dir;
    const QString db = dir.filePath("r.db");
    QCOMPARE(runSrigl(tiny(db)).exitCode, 0);
    for (const QString& target : {db, db + "-wal", db + "-shm"}) {
        auto args = tiny(db);
        args << "--set" << "checkpoint=" + target;
        const SriglResult r = runSrigl(args);
        QVERIFY2(r.exitCode == 2, qPrintable(target + ": " + r.err));
        QVERIFY2(r.err.contains("checkpoint") && r.err.contains("database"), qPrintable(r.err));
    }
    // The same database, reached by another spelling of its path.
    auto args = tiny(db);
    args << "--set" << "checkpoint=" + dir.path() + "/./r.db";
    QCOMPARE(runSrigl(args).exitCode, 2);
    sessions::RunStore store(db.toStdString(), sessions::RunStore::Mode::ReadOnly);
    QCOMPARE(store.listRuns().size(), size_t(1)); // nothing recorded by the refused runs, nothing lost
    QVERIFY(store.integrityOk());
}

void TestCliReliability::checkpointFolderRefusedBeforeTraining() {
    QTemporaryDir dir;
    const QString db = dir.filePath("r.db");
    auto args = tiny(db);
    args << "--set" << "checkpoint=" + dir.path();
    const SriglResult r = runSrigl(args);
    QVERIFY2(r.exitCode == 2, qPrintable(r.err));
    QVERIFY2(r.err.contains("checkpoint") && r.err.contains("folder"), qPrintable(r.err));
    QVERIFY(!QFile::exists(db)); // validated before the store heard of the run
}

void TestCliReliability::checkpointOverForeignFileRefused() {
    QTemporaryDir dir;
    const QString notes = dir.filePath("notes.txt");
    {
        QFile f(notes);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("months of notes\n");
    }
    auto args = tiny(dir.filePath("r.db"));
    args << "--set" << "checkpoint=" + notes;
    const SriglResult r = runSrigl(args);
    QVERIFY2(r.exitCode == 2, qPrintable(r.err));
    QVERIFY2(r.err.contains("not a SRigL Studio checkpoint"), qPrintable(r.err));
    QCOMPARE(bytesOf(notes), QByteArray("months of notes\n"));
}

void TestCliReliability::fullDiskDuringCheckpointIsACleanError() {
    QTemporaryDir dir;
    const QString db = dir.filePath("r.db");
    const QString ckpt = dir.filePath("run.ckpt");
    const QByteArray good = trainWithCheckpoint(db, ckpt);
    QVERIFY(!good.isEmpty());
    // The temporary file the writer fills is /dev/full: every write fails with ENOSPC, as on a
    // full disk.
    QVERIFY(QFile::link("/dev/full", ckpt + ".tmp"));
    const SriglResult r = runSrigl({"train", "--db", db, "-q", "--resume", "1", "--set", "epochs=2"});
    QVERIFY2(r.exitCode == 1, qPrintable(QString::number(r.exitCode) + " " + r.err)); // not 134 (abort)
    QVERIFY2(r.err.contains("No space left on device") && r.err.contains(ckpt), qPrintable(r.err));
    QVERIFY2(!r.err.contains("terminate called"), qPrintable(r.err));
    QCOMPARE(bytesOf(ckpt), good); // the last good checkpoint is kept
    sessions::RunStore store(db.toStdString(), sessions::RunStore::Mode::ReadOnly);
    const auto run = store.run(1);
    QVERIFY(run.status == sessions::RunStatus::Failed);
    QVERIFY2(run.error.find("No space left") != std::string::npos, run.error.c_str());
    QCOMPARE(dbRunCheckpoint(db, 1), ckpt.toStdString());
    QVERIFY(store.integrityOk());
}

void TestCliReliability::resumeRefusesAnotherRunsCheckpoint() {
    QTemporaryDir dir;
    const QString db = dir.filePath("r.db");
    QCOMPARE(runSrigl(tiny(db)).exitCode, 0);
    auto other = tiny(db);
    other << "--set" << "seed=7";
    QCOMPARE(runSrigl(other).exitCode, 0);
    const QString first = QString::fromStdString(dbRunCheckpoint(db, 1));
    const QString second = QString::fromStdString(dbRunCheckpoint(db, 2));
    QVERIFY(!first.isEmpty() && first != second);
    QVERIFY(QFile::remove(first));
    QVERIFY(QFile::copy(second, first)); // run 2's checkpoint where run 1's was
    const SriglResult r = runSrigl({"train", "--db", db, "-q", "--resume", "1", "--set", "epochs=2"});
    QVERIFY2(r.exitCode == 2, qPrintable(r.err));
    QVERIFY2(r.err.contains("another run") && r.err.contains("run 1"), qPrintable(r.err));
    sessions::RunStore store(db.toStdString(), sessions::RunStore::Mode::ReadOnly);
    QVERIFY(store.run(1).status == sessions::RunStatus::Finished); // untouched
}

void TestCliReliability::checkpointsOfTwoDatabasesNeverCollide() {
    QTemporaryDir dir;
    const QString a = dir.filePath("a.db"), b = dir.filePath("b.db");
    QCOMPARE(runSrigl(tiny(a)).exitCode, 0);
    auto other = tiny(b);
    other << "--set" << "seed=9";
    QCOMPARE(runSrigl(other).exitCode, 0);
    const std::string ca = dbRunCheckpoint(a, 1), cb = dbRunCheckpoint(b, 1);
    QVERIFY(!ca.empty() && !cb.empty());
    QVERIFY2(ca != cb, ca.c_str());
    QVERIFY(QFile::exists(QString::fromStdString(ca)) && QFile::exists(QString::fromStdString(cb)));
    // Each run resumes from its own model.
    const SriglResult r = runSrigl({"train", "--db", a, "-q", "--resume", "1", "--set", "epochs=2"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
}

void TestCliReliability::secondConcurrentResumeRefused() {
    QTemporaryDir dir;
    const QString db = dir.filePath("r.db");
    QCOMPARE(runSrigl(tiny(db)).exitCode, 0);
    QProcess first;
    prepareSriglProcess(first);
    first.start(kSrigl, {"train", "--db", db, "-q", "--resume", "1", "--set", "epochs=100000"});
    QVERIFY(first.waitForStarted());
    // Wait until the first process has taken the run.
    bool taken = false;
    for (int i = 0; i < 600 && !taken; ++i) {
        QThread::msleep(50);
        RawDb raw(db.toStdString());
        taken = raw.scalar("SELECT pid FROM runs WHERE id = 1 AND status = 'running'") == first.processId();
    }
    QVERIFY(taken);
    const SriglResult second = runSrigl({"train", "--db", db, "-q", "--resume", "1", "--set", "epochs=2"});
    ::kill(static_cast<pid_t>(first.processId()), SIGINT);
    first.waitForFinished(60000);
    QVERIFY2(second.exitCode == 2, qPrintable(second.err));
    QVERIFY2(second.err.contains("run 1") && second.err.contains("process"), qPrintable(second.err));
    RawDb raw(db.toStdString());
    // No duplicated rows: one train_loss per step.
    QCOMPARE(raw.scalar("SELECT count(*) FROM (SELECT step FROM metrics WHERE run_id = 1 AND key = 'train_loss' "
                        "GROUP BY step HAVING count(*) > 1)"),
             int64_t(0));
}

void TestCliReliability::resumeWithMistypedDatabaseCreatesNothing() {
    QTemporaryDir dir;
    const QString typo = dir.filePath("typo.db");
    const SriglResult r = runSrigl({"train", "--db", typo, "-q", "--resume", "1"});
    QVERIFY2(r.exitCode == 2, qPrintable(r.err));
    QVERIFY2(r.err.contains("typo.db"), qPrintable(r.err));
    QVERIFY(!QFile::exists(typo));
}

void TestCliReliability::resumeOverridesAreStored() {
    QTemporaryDir dir;
    const QString db = dir.filePath("r.db");
    QCOMPARE(runSrigl(tiny(db)).exitCode, 0);
    const SriglResult r =
        runSrigl({"train", "--db", db, "-q", "--resume", "1", "--set", "epochs=2", "--set", "lr=0.01"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    sessions::RunStore store(db.toStdString(), sessions::RunStore::Mode::ReadOnly);
    const auto config = QJsonDocument::fromJson(QByteArray::fromStdString(store.run(1).config)).object();
    QCOMPARE(config["lr"].toDouble(), 0.01);
    QCOMPARE(config["epochs"].toInt(), 2);
    const auto history = store.configHistory(1);
    QCOMPARE(history.size(), size_t(1));
    const auto old = QJsonDocument::fromJson(QByteArray::fromStdString(history[0].config)).object();
    QCOMPARE(old["lr"].toDouble(), 0.1);
    QCOMPARE(history[0].step, int64_t(16));
    // runs show lists it too.
    const SriglResult shown = runSrigl({"runs", "show", "1", "--db", db});
    QVERIFY2(shown.exitCode == 0, qPrintable(shown.err));
    const auto json = QJsonDocument::fromJson(shown.out.toUtf8()).object();
    const auto changes = json["config_history"].toArray();
    QCOMPARE(changes.size(), 1);
    QCOMPARE(changes[0].toObject()["config"].toObject()["lr"].toDouble(), 0.1);
}

void TestCliReliability::killAfterCheckpointLeavesNoHole() {
    QTemporaryDir dir;
    const QString db = dir.filePath("r.db");
    const QString ckpt = dir.filePath("run.ckpt");
    QStringList args = {"train", "--db", db, "-q", "--set", "synthetic_train=256", "--set", "synthetic_test=64",
                        "--set", "batch_size=16", "--set", "hidden=32", "--set", "threads=1", "--set", "epochs=400",
                        "--set", "log_every=1", "--set", "eval_every=0", "--set", "checkpoint=" + ckpt,
                        "--set", "checkpoint_every=20"};
    QProcess p;
    prepareSriglProcess(p);
    p.start(kSrigl, args);
    QVERIFY(p.waitForStarted());
    // Kill -9 right after a checkpoint appears (or was replaced), with no chance to tidy up.
    for (int i = 0; i < 2000 && !QFile::exists(ckpt); ++i) QThread::msleep(5);
    QVERIFY(QFile::exists(ckpt));
    QThread::msleep(30);
    ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
    p.waitForFinished(30000);
    const int64_t ckptStep = readCheckpointFile(ckpt.toStdString()).header.step;
    QVERIFY(ckptStep > 0);
    std::set<int64_t> steps;
    {
        RawDb raw(db.toStdString());
        // Every step up to the checkpoint's is in the history.
        QCOMPARE(raw.scalar("SELECT count(DISTINCT step) FROM metrics WHERE run_id = 1 AND key = 'train_loss' AND "
                            "step <= " + std::to_string(ckptStep)),
                 ckptStep);
    }
    // After the resume the history is whole: one train_loss per step, none missing.
    const SriglResult r = runSrigl({"train", "--db", db, "-q", "--resume", "1", "--set",
                                    "max_steps=" + QString::number(ckptStep + 30)});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    RawDb raw(db.toStdString());
    QCOMPARE(raw.scalar("SELECT count(*) FROM metrics WHERE run_id = 1 AND key = 'train_loss'"), ckptStep + 30);
    QCOMPARE(raw.scalar("SELECT count(DISTINCT step) FROM metrics WHERE run_id = 1 AND key = 'train_loss'"),
             ckptStep + 30);
}

void TestCliReliability::corruptCheckpointRefusedOnResume() {
    QTemporaryDir dir;
    const QString db = dir.filePath("r.db");
    const QString ckpt = dir.filePath("run.ckpt");
    QByteArray bytes = trainWithCheckpoint(db, ckpt);
    QVERIFY(!bytes.isEmpty());
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10); // deep inside the tensors
    {
        QFile f(ckpt);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(bytes);
    }
    const SriglResult r = runSrigl({"train", "--db", db, "-q", "--resume", "1", "--set", "epochs=2"});
    QVERIFY2(r.exitCode == 2, qPrintable(r.err));
    QVERIFY2(r.err.contains("damaged") && r.err.contains(ckpt), qPrintable(r.err));
}

void TestCliReliability::lockedDatabaseDuringTrainingLosesNothing() {
    QTemporaryDir dir;
    const QString db = dir.filePath("r.db");
    QStringList args = {"train", "--db", db, "--json", "--set", "synthetic_train=256", "--set", "synthetic_test=64",
                        "--set", "batch_size=16", "--set", "hidden=32", "--set", "threads=1", "--set", "epochs=400",
                        "--set", "log_every=10", "--set", "eval_every=0"};
    QProcess p;
    prepareSriglProcess(p);
    p.start(kSrigl, args);
    QVERIFY(p.waitForStarted());
    QByteArray out;
    // Reads stdout until a line holds `what` (or 60 s pass).
    const auto waitFor = [&](const QByteArray& what) {
        for (int i = 0; i < 600 && !out.contains(what); ++i) {
            p.waitForReadyRead(100);
            out += p.readAllStandardOutput();
        }
        return out.contains(what);
    };
    QVERIFY2(waitFor("\"event\":\"run\""), qPrintable(QString::fromUtf8(p.readAllStandardError())));
    {
        // Another process holds the write lock while the run trains: it says so and trains on.
        RawDb other(db.toStdString());
        other.exec("BEGIN EXCLUSIVE");
        QVERIFY2(waitFor("\"waiting\":true"), out.right(400).constData());
        other.exec("COMMIT");
    }
    QVERIFY2(waitFor("\"waiting\":false"), out.right(400).constData()); // caught up while training
    ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(60000));
    out += p.readAllStandardOutput();
    QCOMPARE(p.exitCode(), 130);
    RawDb raw(db.toStdString());
    const int64_t steps = raw.scalar("SELECT steps FROM runs WHERE id = 1");
    QVERIFY(steps > 0);
    // Every logged step is stored, once.
    QCOMPARE(raw.scalar("SELECT count(*) FROM metrics WHERE run_id = 1 AND key = 'train_loss' AND step % 10 = 0"),
             steps / 10);
    QCOMPARE(raw.scalar("SELECT count(*) FROM metrics"), raw.scalar("SELECT count(*) FROM (SELECT DISTINCT step, key FROM metrics)"));
    QCOMPARE(raw.text("SELECT error FROM runs WHERE id = 1"), std::string()); // nothing missing to report
}

QTEST_GUILESS_MAIN(TestCliReliability)
#include "test_cli_reliability.moc"
