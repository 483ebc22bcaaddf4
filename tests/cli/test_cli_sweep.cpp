// `srigl sweep` as a user runs it: a 2x2 grid on the synthetic digits trained one run after
// another, each recorded and linked to the sweep; a bad grid refused before anything is stored;
// a sweep killed mid-grid and resumed with --resume, every point then recorded exactly once; and
// the sweeps listed by `srigl runs sweeps` and `srigl runs list --sweep`.
#include <QtTest>

#include "tests/support/srigl_process.hpp"

#include "tests/support/guarded.hpp"

#include "sessions/store/run_store.hpp"
#include "sessions/store/sweep_store.hpp"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QSet>
#include <QTemporaryDir>

#include <set>
#include <string>

namespace {

using srigl::sessions::PointStatus;
using srigl::sessions::RunStatus;
using srigl::sessions::RunStore;
using srigl::sessions::SweepStore;

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

using Result = SriglResult;
void prepare(QProcess& p) { prepareSriglProcess(p); }
Result runSrigl(const QStringList& args, int timeoutMs = 300000) { return runSriglProcess(kSrigl, args, timeoutMs); }

// Tiny runs: 8 steps each on the synthetic digits.
QStringList tinySweep(const QString& db) {
    return {"sweep", "--json", "--db", db, "--set", "synthetic_train=512", "--set", "synthetic_test=128", "--set",
            "hidden=64,32", "--set", "epochs=1", "--set", "batch_size=64", "--set", "delta_t=2", "--set", "threads=1"};
}

QList<QJsonObject> events(const QString& out) {
    QList<QJsonObject> list;
    for (const auto& line : out.trimmed().split('\n')) list << QJsonDocument::fromJson(line.toUtf8()).object();
    return list;
}

QList<QJsonObject> eventsOf(const QList<QJsonObject>& all, const QString& name) {
    QList<QJsonObject> out;
    for (const auto& e : all)
        if (e["event"].toString() == name) out << e;
    return out;
}

// Starts `args` (a --json sweep) and SIGKILLs it once point 2 logged a step above `killAbove`.
struct KilledSweep {
    qint64 sweepId = 0;
    qint64 run = 0;   // the run of the killed point
    qint64 after = 0; // the step logged just before the kill (0: not killed)
    QString err;
};

KilledSweep killInSecondPoint(const QStringList& args, qint64 killAbove) {
    KilledSweep k;
    QProcess p;
    prepare(p);
    p.start(kSrigl, args);
    p.closeWriteChannel();
    if (!p.waitForStarted()) return k;
    qint64 pointsSeen = 0;
    QElapsedTimer timer;
    timer.start();
    while (k.after == 0 && p.state() == QProcess::Running && timer.elapsed() < 240000) {
        p.waitForReadyRead(1000);
        while (p.canReadLine()) {
            const QJsonObject e = QJsonDocument::fromJson(p.readLine()).object();
            const QString name = e["event"].toString();
            if (name == "sweep") k.sweepId = e["sweep_id"].toInteger();
            if (name == "point") ++pointsSeen;
            if (name == "run") k.run = e["run_id"].toInteger();
            if (name == "step" && pointsSeen == 2 && e["step"].toInteger() > killAbove) {
                k.after = e["step"].toInteger();
                p.kill();
                break;
            }
        }
    }
    if (k.after == 0) p.kill();
    p.waitForFinished(30000);
    k.err = QString::fromUtf8(p.readAllStandardError());
    return k;
}

// Whether each of the run's logged steps is stored once (a continued run dropped its repeated tail).
bool lossesStoredOnce(RunStore& store, int64_t runId) {
    std::set<int64_t> steps;
    size_t losses = 0;
    for (const auto& m : store.metrics(runId))
        if (m.key == "train_loss") {
            steps.insert(m.step);
            ++losses;
        }
    return losses > 0 && steps.size() == losses;
}

// The first step a resumed sweep logged in point `point`, or -1.
qint64 firstStepOfPoint(const QList<QJsonObject>& all, int point) {
    bool inPoint = false;
    for (const auto& e : all) {
        if (e["event"].toString() == "point") inPoint = e["point"].toInt() == point;
        if (inPoint && e["event"].toString() == "step") return e["step"].toInteger();
    }
    return -1;
}

} // namespace

class TestCliSweep : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gridOfFourRecordsFourRuns();
    void badGridStoresNothing();
    void resumeNeedsAKnownSweep();
    void killedSweepResumesEveryPointOnce();
    void pointKilledBeforeItsFirstCheckpointStartsOver();
};

void TestCliSweep::gridOfFourRecordsFourRuns() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        Result r = runSrigl(tinySweep(db) << "--name" << "small" << "--grid" << "method=srigl,rigl" << "--grid"
                                          << "sparsity=0.8,0.9");
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto all = events(r.out);
        for (const auto& e : all) QVERIFY(!e.isEmpty()); // every line is JSON
        const auto start = eventsOf(all, "sweep");
        QCOMPARE(start.size(), 1);
        const qint64 sweepId = start[0]["sweep_id"].toInteger();
        QVERIFY(sweepId > 0);
        QCOMPARE(start[0]["points"].toInt(), 4);
        // Point events in grid order, the last key varying fastest, each followed by its run.
        const auto points = eventsOf(all, "point");
        QCOMPARE(points.size(), 4);
        QCOMPARE(points[0]["assignment"].toObject()["method"].toString(), QString("srigl"));
        QCOMPARE(points[1]["assignment"].toObject()["sparsity"].toString(), QString("0.9"));
        QCOMPARE(points[2]["assignment"].toObject()["method"].toString(), QString("rigl"));
        QCOMPARE(eventsOf(all, "run").size(), 4);
        const auto done = eventsOf(all, "point_done");
        QCOMPARE(done.size(), 4);
        QSet<qint64> runIds;
        for (const auto& d : done) {
            QCOMPARE(d["status"].toString(), QString("finished"));
            runIds << d["run_id"].toInteger();
        }
        QCOMPARE(runIds.size(), 4);
        const auto summary = all.last();
        QCOMPARE(summary["event"].toString(), QString("sweep_summary"));
        QCOMPARE(summary["points"].toArray().size(), 4);

        // The store: four finished runs with the grid's configs, linked to the finished sweep.
        {
            RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
            SweepStore sweeps(store);
            const auto info = sweeps.sweep(sweepId);
            QVERIFY(info.status == RunStatus::Finished);
            QCOMPARE(info.name, std::string("small"));
            QCOMPARE(info.done, int64_t(4));
            const auto rows = sweeps.points(sweepId);
            const char* methods[] = {"srigl", "srigl", "rigl", "rigl"};
            const double sparsities[] = {0.8, 0.9, 0.8, 0.9};
            for (size_t i = 0; i < rows.size(); ++i) {
                QVERIFY(rows[i].status == PointStatus::Finished);
                const auto run = store.run(rows[i].runId);
                QVERIFY(run.status == RunStatus::Finished);
                QCOMPARE(run.method, std::string(methods[i]));
                QCOMPARE(run.sparsity, sparsities[i]);
                QCOMPARE(run.steps, int64_t(8));
                QVERIFY(!store.masks(run.id).empty());
                QVERIFY(!store.weightStats(run.id).empty());
            }
            QCOMPARE(store.listRuns().size(), size_t(4));
        }

        // Listed by `srigl runs`.
        Result listed = runSrigl({"runs", "--db", db, "sweeps", "--json"});
        QVERIFY2(listed.exitCode == 0, qPrintable(listed.err));
        const QJsonArray sweepsJson = QJsonDocument::fromJson(listed.out.toUtf8()).array();
        QCOMPARE(sweepsJson.size(), 1);
        QCOMPARE(sweepsJson[0].toObject()["points"].toInt(), 4);
        QCOMPARE(sweepsJson[0].toObject()["done"].toInt(), 4);
        QCOMPARE(sweepsJson[0].toObject()["status"].toString(), QString("finished"));
        Result text = runSrigl({"runs", "--db", db, "sweeps"});
        QVERIFY2(text.out.contains("4/4") && text.out.contains("method=srigl,rigl"), qPrintable(text.out));
        Result runsOfSweep = runSrigl({"runs", "--db", db, "list", "--json", "--sweep", QString::number(sweepId)});
        QVERIFY2(runsOfSweep.exitCode == 0, qPrintable(runsOfSweep.err));
        QCOMPARE(QJsonDocument::fromJson(runsOfSweep.out.toUtf8()).array().size(), 4);
        Result unknown = runSrigl({"runs", "--db", db, "list", "--sweep", "99"});
        QCOMPARE(unknown.exitCode, 2);
        QVERIFY2(unknown.err.contains("99"), qPrintable(unknown.err));
    });
}

void TestCliSweep::badGridStoresNothing() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        {
            RunStore create(db.toStdString()); // an existing database must stay as it is
        }
        const QByteArray before = [&] {
            QFile f(db);
            f.open(QIODevice::ReadOnly);
            return f.readAll();
        }();
        const QList<QPair<QStringList, QString>> cases = {
            {{"--grid", "methd=srigl,rigl"}, "methd"},
            {{"--grid", "method=srigl,magic"}, "magic"},
            {{"--grid", "sparsity=0.9,1.5"}, "sparsity"},
            {{"--grid", "seed=1,1"}, "twice"},
            {{"--grid", "seed"}, "key=value"},
            {{}, "--grid"},
            {{"--grid", "seed=1", "--set", "epochs=-1"}, "epochs"},
        };
        for (const auto& c : cases) {
            Result r = runSrigl(tinySweep(db) + c.first);
            QVERIFY2(r.exitCode == 2, qPrintable(c.first.join(' ') + ": " + r.err));
            QVERIFY2(r.err.contains(c.second), qPrintable(c.first.join(' ') + ": " + r.err));
            QVERIFY2(r.out.isEmpty(), qPrintable(r.out)); // nothing started
        }
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QVERIFY(store.listRuns().empty());
        QVERIFY(SweepStore(store).listSweeps().empty());
        QFile f(db);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), before);
        // A bad grid on a path with no database does not create one.
        const QString none = dir.filePath("none.db");
        QCOMPARE(runSrigl(tinySweep(none) << "--grid" << "methd=x").exitCode, 2);
        QVERIFY(!QFile::exists(none));
    });
}

void TestCliSweep::resumeNeedsAKnownSweep() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        { RunStore create(db.toStdString()); }
        Result r = runSrigl({"sweep", "--db", db, "--resume", "7"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("sweep with id 7"), qPrintable(r.err));
        r = runSrigl({"sweep", "--db", db, "--resume", "7", "--grid", "seed=1,2"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("--resume"), qPrintable(r.err));
        r = runSrigl({"sweep", "--db", dir.filePath("missing.db"), "--resume", "1"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(!QFile::exists(dir.filePath("missing.db")));
    });
}

void TestCliSweep::killedSweepResumesEveryPointOnce() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        // Three points of 320 steps, checkpointed every 20: long enough to be killed inside point 2.
        QStringList args = tinySweep(db);
        args << "--set" << "synthetic_train=2048" << "--set" << "epochs=10" << "--set" << "checkpoint_every=20"
             << "--grid" << "seed=1,2,3";
        // SIGKILL in the second point, after its first checkpoint.
        const KilledSweep k = killInSecondPoint(args, 50);
        const qint64 sweepId = k.sweepId, killedRun = k.run, killedAfter = k.after;
        QVERIFY2(killedAfter > 50, qPrintable(k.err));
        QVERIFY(sweepId > 0 && killedRun > 0);
        {
            RunStore store(db.toStdString());
            QVERIFY(store.integrityOk());
            SweepStore sweeps(store);
            QCOMPARE(sweeps.markInterrupted(), 1);
            const auto rows = sweeps.points(sweepId);
            QVERIFY(rows[0].status == PointStatus::Finished);
            QVERIFY(rows[1].status == PointStatus::Interrupted);
            QCOMPARE(rows[1].runId, killedRun);
            QVERIFY(rows[2].status == PointStatus::Pending);
            QCOMPARE(store.listRuns().size(), size_t(2));
        }
        Result listed = runSrigl({"runs", "--db", db, "sweeps", "--json"});
        QCOMPARE(QJsonDocument::fromJson(listed.out.toUtf8()).array()[0].toObject()["status"].toString(),
                 QString("interrupted"));

        Result resumed = runSrigl({"sweep", "--json", "--db", db, "--resume", QString::number(sweepId)});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
        const auto all = events(resumed.out);
        const auto points = eventsOf(all, "point");
        QCOMPARE(points.size(), 2); // the finished point is skipped
        QCOMPARE(points[0]["point"].toInt(), 1);
        QVERIFY(points[0]["resumed"].toBool());
        QCOMPARE(points[1]["point"].toInt(), 2);
        QVERIFY(!points[1]["resumed"].toBool());
        // The interrupted run continued from its checkpoint, not from step 0.
        const qint64 firstStep = firstStepOfPoint(all, 1);
        QVERIFY2(firstStep > 20, qPrintable(QString::number(firstStep)));

        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QVERIFY(store.integrityOk());
        SweepStore sweeps(store);
        QVERIFY(sweeps.sweep(sweepId).status == RunStatus::Finished);
        const auto rows = sweeps.points(sweepId);
        QCOMPARE(rows.size(), size_t(3));
        std::set<int64_t> runIds;
        for (const auto& row : rows) {
            QVERIFY(row.status == PointStatus::Finished);
            runIds.insert(row.runId);
            const auto run = store.run(row.runId);
            QVERIFY(run.status == RunStatus::Finished);
            QCOMPARE(run.steps, int64_t(320));
        }
        QCOMPARE(runIds.size(), size_t(3));
        QCOMPARE(rows[1].runId, killedRun); // the same run, continued
        QCOMPARE(store.listRuns().size(), size_t(3)); // every point recorded exactly once
        for (int64_t id : runIds) QVERIFY2(lossesStoredOnce(store, id), qPrintable(QString::number(id)));
        // The continued run went on checkpointing into its own file, with its config unchanged
        // (it used to continue with the sweep point's config, which names no checkpoint file).
        const auto last = store.lastCheckpoint(killedRun);
        QVERIFY(last && last->first == 320);
        QVERIFY(QFile::exists(QString::fromStdString(last->second)));
        QVERIFY(store.configHistory(killedRun).empty());
    });
}

void TestCliSweep::pointKilledBeforeItsFirstCheckpointStartsOver() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        // No checkpoint before the end of a point: the kill in point 2 leaves its run without one.
        QStringList args = tinySweep(db);
        args << "--set" << "synthetic_train=2048" << "--set" << "epochs=10" << "--set" << "checkpoint_every=100000"
             << "--grid" << "seed=1,2";
        const KilledSweep k = killInSecondPoint(args, 30);
        QVERIFY2(k.after > 30, qPrintable(k.err));
        {
            RunStore store(db.toStdString());
            QVERIFY(!store.lastCheckpoint(k.run));
            // What the killed attempt may have recorded (the recorder writes every half second,
            // so the kill may have come before its first write): a loss no real step logs.
            store.addMetrics(k.run, {{10, "train_loss", 99.0}, {20, "train_loss", 99.0}});
        }
        // The resume used to fail ("the checkpoint of run 2 belongs to a run that was not recorded")
        // and mark the whole sweep failed.
        Result resumed = runSrigl({"sweep", "--json", "--db", db, "--resume", QString::number(k.sweepId)});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
        const auto all = events(resumed.out);
        const auto points = eventsOf(all, "point");
        QCOMPARE(points.size(), 1);
        QVERIFY(points[0]["resumed"].toBool());
        const qint64 firstStep = firstStepOfPoint(all, 1);
        QVERIFY2(firstStep > 0 && firstStep <= 10, qPrintable(QString::number(firstStep))); // from step 0 again

        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QVERIFY(store.integrityOk());
        SweepStore sweeps(store);
        QVERIFY(sweeps.sweep(k.sweepId).status == RunStatus::Finished);
        const auto rows = sweeps.points(k.sweepId);
        QVERIFY(rows[1].status == PointStatus::Finished);
        QCOMPARE(rows[1].runId, k.run); // the same record, trained again
        QCOMPARE(store.listRuns().size(), size_t(2));
        const auto run = store.run(k.run);
        QVERIFY(run.status == RunStatus::Finished);
        QCOMPARE(run.steps, int64_t(320));
        QCOMPARE(QString::fromStdString(run.error), QString()); // every record stored
        QVERIFY(lossesStoredOnce(store, k.run));
        for (const auto& m : store.metrics(k.run)) QVERIFY(m.value != 99.0); // the killed attempt's records were dropped
        std::set<std::pair<std::string, int64_t>> masks;
        for (const auto& m : store.maskStats(k.run)) QVERIFY(masks.insert({m.stats.name, m.step}).second);
        const auto last = store.lastCheckpoint(k.run);
        QVERIFY(last && last->first == 320 && QFile::exists(QString::fromStdString(last->second)));
        QVERIFY(store.configHistory(k.run).empty());
    });
}

QTEST_GUILESS_MAIN(TestCliSweep)
#include "test_cli_sweep.moc"
