// `srigl train --db` and `srigl runs ...` as a user runs them: the run id, list/show/tag/note/
// filter/export/diff/delete, bad input with exit code 2 and files left alone, and crash safety: a
// training killed with SIGKILL shows as interrupted, the database passes integrity_check, and
// `srigl train --resume ID` finishes it. Readers never write and print whatever older versions
// stored; --db goes before or after the subcommand.
#include <QtTest>

#include "tests/support/srigl_process.hpp"

#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"
#include "tests/support/test_files.hpp"

#include "sessions/store/run_store.hpp"
#include "sessions/store/writer_stamp.hpp"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QSet>
#include <QTemporaryDir>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using srigl::sessions::RunStatus;
using srigl::sessions::RunStore;

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

using Result = SriglResult;
void prepare(QProcess& p) { prepareSriglProcess(p); }
Result finish(QProcess& p, int timeoutMs) { return finishSriglProcess(p, timeoutMs); }
Result runSrigl(const QStringList& args, int timeoutMs = 300000) { return runSriglProcess(kSrigl, args, timeoutMs); }

// Independent commands at once (start-up dominates these short commands); results in order.
QList<Result> runParallel(const QList<QStringList>& commands, int timeoutMs = 300000) {
    std::vector<std::unique_ptr<QProcess>> procs;
    for (const auto& args : commands) {
        procs.push_back(std::make_unique<QProcess>());
        prepare(*procs.back());
        procs.back()->start(kSrigl, args);
        procs.back()->closeWriteChannel();
    }
    QList<Result> out;
    for (auto& p : procs) out << finish(*p, timeoutMs);
    return out;
}

// `srigl runs --db DB <args...>`
Result runs(const QString& db, const QStringList& args) { return runSrigl(QStringList{"runs", "--db", db} + args); }
QStringList runsArgs(const QString& db, const QStringList& args) { return QStringList{"runs", "--db", db} + args; }

QStringList smallTrain(const QString& db) {
    return {"train", "--json", "--db", db, "--set", "synthetic_train=1024", "--set", "synthetic_test=256", "--set",
            "epochs=1", "--set", "batch_size=64", "--set", "delta_t=4", "--set", "threads=1"};
}

QJsonObject lastJson(const QString& out) {
    const auto lines = out.trimmed().split('\n');
    return QJsonDocument::fromJson(lines.last().toUtf8()).object();
}

QJsonArray listJson(const QString& db, const QStringList& extra = {}) {
    Result r = runs(db, QStringList{"list", "--json"} + extra);
    if (r.exitCode != 0) qWarning("runs list failed (%d): %s", r.exitCode, qPrintable(r.err));
    return QJsonDocument::fromJson(r.out.toUtf8()).array();
}

QList<qint64> idsOf(const QJsonArray& runs) {
    QList<qint64> ids;
    for (const auto& v : runs) ids << v.toObject()["id"].toInteger();
    return ids;
}


QJsonObject findRun(const QJsonArray& runs, qint64 id) {
    for (const auto& v : runs)
        if (v.toObject()["id"].toInteger() == id) return v.toObject();
    return {};
}

QByteArray fileBytes(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

// Two finished runs, trained once per process on first use (both at once, into one database):
// A (srigl, default seed) and B (set, seed 7).
struct Trained {
    QTemporaryDir dir;
    QString db;
    qint64 a = 0, b = 0;
    QJsonObject summaryA;
    QStringList linesA;
    QString error;
};

std::unique_ptr<Trained> trainedRuns;

const Trained& trained() {
    if (trainedRuns) return *trainedRuns;
    trainedRuns = std::make_unique<Trained>();
    Trained& t = *trainedRuns;
    t.db = t.dir.filePath("runs.db");
    try {
        RunStore create(t.db.toStdString()); // the schema first: the two trainings then only add runs
    } catch (const std::exception& e) {
        t.error = e.what();
        return t;
    }
    QProcess pa, pb;
    prepare(pa);
    prepare(pb);
    pa.start(kSrigl, smallTrain(t.db));
    pb.start(kSrigl, smallTrain(t.db) << "--set" << "method=set" << "--set" << "seed=7");
    pa.closeWriteChannel();
    pb.closeWriteChannel();
    const Result a = finish(pa, 300000), b = finish(pb, 300000);
    if (a.exitCode != 0 || b.exitCode != 0) {
        t.error = "training failed: " + a.err + " / " + b.err;
        return t;
    }
    t.summaryA = lastJson(a.out);
    t.linesA = a.out.trimmed().split('\n');
    t.a = t.summaryA["run_id"].toInteger();
    t.b = lastJson(b.out)["run_id"].toInteger();
    if (t.a <= 0 || t.b <= 0 || t.a == t.b) t.error = "no distinct run ids in the summaries";
    return t;
}

#define REQUIRE_TRAINED()                                                                                             \
    const Trained& t = trained();                                                                                     \
    QVERIFY2(t.error.isEmpty(), qPrintable(t.error))

// A copy of the trained database (and its WAL, if one was left) for a test that changes it.
QString copyDb(const Trained& t, const QTemporaryDir& dir) {
    const QString to = dir.filePath("runs.db");
    QFile::copy(t.db, to);
    if (QFile::exists(t.db + "-wal")) QFile::copy(t.db + "-wal", to + "-wal");
    return to;
}

// Finished runs written straight through the store, one per config, into the database `db`
// (created): these tests are about what is stored, not how training stored it. Their ids in order.
QList<qint64> storedRuns(const QString& db, const QStringList& configs) {
    RunStore store(db.toStdString());
    QList<qint64> ids;
    for (const auto& config : configs) {
        auto run = minimalRun("stored");
        run.config = config.toStdString();
        run.method = "srigl";
        const int64_t id = store.createRun(run);
        store.finishRun(id, RunStatus::Finished, 10, 0.5);
        ids << id;
    }
    return ids;
}

// The pid of a process that has exited and been reaped: a writer that is gone.
qint64 deadPid() {
    const pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, nullptr, 0);
    return child;
}

// `srigl args...` with every "@E9@" in an argument replaced by the byte 0xE9 (Latin-1 'é', not
// UTF-8 on its own): QProcess hands arguments over as UTF-8 text, so the raw byte goes through bash.
Result runSriglWithByte(const QStringList& args) {
    const QString script = "b=$(printf '\\351'); prog=$1; shift; a=(); for x in \"$@\"; do a+=(\"${x//@E9@/$b}\"); done; "
                           "exec \"$prog\" \"${a[@]}\"";
    QProcess p;
    prepare(p);
    p.start("bash", QStringList{"-c", script, "bash", kSrigl} + args);
    p.closeWriteChannel();
    return finish(p, 60000);
}

// A database with two finished runs (A, B), a run still marked running whose writer is gone and
// a sweep likewise, as a killed `srigl train` / `srigl sweep` leaves them.
struct DeadWriterDb {
    QTemporaryDir dir;
    QString db = dir.filePath("runs.db");
    qint64 a = 0, b = 0, dead = 0;

    DeadWriterDb() {
        const auto ids = storedRuns(db, {R"({"method":"srigl","seed":1})", R"({"method":"set","seed":1})"});
        a = ids[0];
        b = ids[1];
        dead = storeRun(db.toStdString(), minimalRun("killed"));
    }
    // Marks the dead run's and sweep's writer as gone; `raw` is the caller's connection.
    void killWriters(RawDb& raw) const {
        const QString pid = QString::number(deadPid()), id = QString::number(dead);
        raw.exec(("UPDATE runs SET pid = " + pid + " WHERE id = " + id).toStdString());
        raw.exec(("INSERT INTO sweeps(name, created_at, status, base_config, grid, host, pid) VALUES('killed sweep', 1, "
                  "'running', '{}', '[]', (SELECT host FROM runs WHERE id = " + id + "), " + pid + ")")
                     .toStdString());
    }
};

} // namespace

class TestCliRuns : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void trainPrintsRunId();
    void listShowsFinishedRun();
    void showJson();
    void tagNoteAndFilters();
    void exportCsvHasMetricAndLayerRows();
    void exportJson();
    void diffPrintsOnlyDifferingKeys();
    void deleteNeedsYes();
    void unknownIdExitsTwo();
    void textFileDatabaseExitsTwoUnchanged();
    void missingDatabaseIsNotCreated();
    void killedRunIsInterruptedAndResumes();
    void renderWritesPictureAndVideo();
    void renderWeightHeatmaps();
    void statisticsOnlyLayerIsExportedNotDrawn();
    void frontEndLoadsNoTorch();
    void dbOptionAfterSubcommand();
    void noteAndTagRefuseBadText();
    void readersSurviveBadStoredText();
    void deadWriterShowsInterrupted();
    void readingNeverWrites();
    void deleteRemovesCheckpointFiles();
    void deleteOfLiveRunIsRefused();
    void releaseLetsARunOfAGoneMachineResume();
    void backupIsAConsistentCopyThatNeverReplaces();
    void mergeBringsAnotherDatabasesRunsHere();
};

void TestCliRuns::trainPrintsRunId() {
    guarded([&] {
        REQUIRE_TRAINED();
        const QJsonObject s = t.summaryA;
        QCOMPARE(s["event"].toString(), QString("summary"));
        QVERIFY(s.contains("run_id"));
        QCOMPARE(s["steps"].toInt(), 16);
        // The run event comes first, with the same id and the database.
        const QJsonObject first = QJsonDocument::fromJson(t.linesA.first().toUtf8()).object();
        QCOMPARE(first["event"].toString(), QString("run"));
        QCOMPARE(first["run_id"].toInteger(), t.a);
        QCOMPARE(first["db"].toString(), t.db);
        // Every line stays JSON with recording on.
        for (const auto& line : t.linesA) {
            QJsonParseError err;
            QJsonDocument::fromJson(line.toUtf8(), &err);
            QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(line));
        }
        QVERIFY(QFile::exists(t.db));
    });
}

void TestCliRuns::listShowsFinishedRun() {
    guarded([&] {
        REQUIRE_TRAINED();
        const auto results = runParallel({runsArgs(t.db, {"list", "--json"}), runsArgs(t.db, {"list"})});
        QVERIFY2(results[0].exitCode == 0, qPrintable(results[0].err));
        const QJsonArray all = QJsonDocument::fromJson(results[0].out.toUtf8()).array();
        QCOMPARE(all.size(), 2);
        const QJsonObject a = findRun(all, t.a);
        QCOMPARE(a["status"].toString(), QString("finished"));
        QCOMPARE(a["steps"].toInt(), 16);
        QCOMPARE(a["method"].toString(), QString("srigl"));
        QCOMPARE(a["model"].toString(), QString("mlp"));
        QCOMPARE(a["dataset"].toString(), QString("synthetic"));
        QVERIFY(qAbs(a["test_accuracy"].toDouble() - t.summaryA["test_accuracy"].toDouble()) < 1e-9);
        QVERIFY(a["created_at"].toInteger() > 0);
        QVERIFY(a["finished_at"].toInteger() >= a["created_at"].toInteger());
        QVERIFY(!a.contains("config")); // list stays short
        const QJsonObject b = findRun(all, t.b);
        QCOMPARE(b["status"].toString(), QString("finished"));
        QCOMPARE(b["method"].toString(), QString("set"));
        QCOMPARE(b["steps"].toInt(), 16);

        // The table for people: a header and one line per run.
        const Result& text = results[1];
        QCOMPARE(text.exitCode, 0);
        const QStringList lines = text.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 3);
        QVERIFY(lines[1].contains("finished") && lines[2].contains("finished"));
    });
}

void TestCliRuns::showJson() {
    guarded([&] {
        REQUIRE_TRAINED();
        Result r = runs(t.db, {"show", QString::number(t.a), "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o["id"].toInteger(), t.a);
        QCOMPARE(o["status"].toString(), QString("finished"));
        QCOMPARE(o["steps"].toInt(), 16);
        QVERIFY(!o["host"].toString().isEmpty());
        QVERIFY(!o["engine_version"].toString().isEmpty());
        const QJsonObject config = o["config"].toObject();
        QCOMPARE(config["method"].toString(), QString("srigl"));
        QCOMPARE(config["epochs"].toInt(), 1);
        QCOMPARE(config["synthetic_train"].toInt(), 1024);
    });
}

void TestCliRuns::tagNoteAndFilters() {
    guarded([&] {
        REQUIRE_TRAINED();
        QTemporaryDir dir;
        const QString db = copyDb(t, dir);
        const QString a = QString::number(t.a), b = QString::number(t.b);
        // Two writers at once: the second waits for the first (busy timeout), both succeed.
        const auto writes =
            runParallel({runsArgs(db, {"tag", a, "baseline"}), runsArgs(db, {"note", b, "lr too high? check again"})});
        for (const auto& w : writes) QVERIFY2(w.exitCode == 0, qPrintable(w.err));

        const auto reads = runParallel({runsArgs(db, {"list", "--json"}),
                                        runsArgs(db, {"list", "--json", "--tag", "baseline"}),
                                        runsArgs(db, {"list", "--json", "--filter", "method=srigl"}),
                                        runsArgs(db, {"list", "--json", "--filter", "method=set,text=too high"}),
                                        runsArgs(db, {"list", "--filter", "colour=blue"})});
        auto arrayOf = [&](int i) { return QJsonDocument::fromJson(reads[i].out.toUtf8()).array(); };
        const QJsonArray all = arrayOf(0);
        QCOMPARE(findRun(all, t.a)["tags"].toArray(), QJsonArray{"baseline"});
        QCOMPARE(findRun(all, t.b)["tags"].toArray(), QJsonArray{});
        QCOMPARE(findRun(all, t.b)["notes"].toString(), QString("lr too high? check again"));
        QCOMPARE(idsOf(arrayOf(1)), QList<qint64>{t.a});
        QCOMPARE(idsOf(arrayOf(2)), QList<qint64>{t.a});
        QCOMPARE(idsOf(arrayOf(3)), QList<qint64>{t.b});

        const Result& bad = reads[4];
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains("colour"), qPrintable(bad.err));
    });
}

void TestCliRuns::exportCsvHasMetricAndLayerRows() {
    guarded([&] {
        REQUIRE_TRAINED();
        const auto results = runParallel({runsArgs(t.db, {"export", QString::number(t.a), "--format", "csv"}),
                                          runsArgs(t.db, {"export", QString::number(t.a), "--format", "xml"})});
        const Result& r = results[0];
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QStringList lines = r.out.trimmed().split('\n');
        QCOMPARE(lines.first(), QString("kind,step,key,value,layer,k,active,ablated,pruned,regrown,sad,sparsity,count,"
                                        "mean,std,min,max,histogram"));
        const int columns = lines.first().count(',');
        QSet<QString> keys, layers;
        QSet<qint64> layerSteps, weightSteps;
        QSet<QString> weightLayers;
        int metricRows = 0, layerRows = 0;
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList f = lines[i].split(',');
            QVERIFY2(lines[i].count(',') == columns, qPrintable(lines[i]));
            if (f[0] == "metric") {
                ++metricRows;
                keys << f[2];
            } else if (f[0] == "layer") {
                ++layerRows;
                layers << f[4];
                layerSteps << f[1].toLongLong();
            } else if (f[0] == "weights") {
                // count, mean, std, min <= mean <= max, and a histogram whose bins add up to count.
                weightLayers << f[4];
                weightSteps << f[1].toLongLong();
                const qint64 count = f[12].toLongLong();
                QVERIFY2(count > 0, qPrintable(lines[i]));
                QVERIFY2(f[15].toDouble() <= f[13].toDouble() && f[13].toDouble() <= f[16].toDouble(), qPrintable(lines[i]));
                QVERIFY2(f[14].toDouble() > 0, qPrintable(lines[i]));
                const QStringList bins = f[17].split(';');
                QCOMPARE(bins.size(), 64);
                qint64 total = 0;
                for (const auto& b : bins) total += b.toLongLong();
                QCOMPARE(total, count);
            } else {
                QFAIL(qPrintable("unexpected row: " + lines[i]));
            }
        }
        QVERIFY(metricRows > 0);
        QVERIFY(layerRows > 0);
        for (const char* key : {"train_loss", "train_accuracy", "lr", "test_loss", "test_accuracy", "drop_fraction"})
            QVERIFY2(keys.contains(key), key);
        QCOMPARE(layers.size(), 3);
        QVERIFY(layerSteps.contains(0));
        QVERIFY(layerSteps.size() > 1); // snapshots after mask updates too
        // Weight statistics of every layer (static ones too) at every mask snapshot.
        QCOMPARE(weightLayers, layers);
        QCOMPARE(weightSteps, layerSteps);

        const Result& bad = results[1];
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains("xml"), qPrintable(bad.err));
    });
}

void TestCliRuns::exportJson() {
    guarded([&] {
        REQUIRE_TRAINED();
        Result r = runs(t.db, {"export", QString::number(t.b), "--format", "json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o["run"].toObject()["id"].toInteger(), t.b);
        QCOMPARE(o["run"].toObject()["method"].toString(), QString("set"));
        const QJsonArray metrics = o["metrics"].toArray(), layers = o["layers"].toArray();
        QVERIFY(!metrics.isEmpty());
        QVERIFY(!layers.isEmpty());
        bool finalLoss = false;
        for (const auto& v : metrics) {
            const auto m = v.toObject();
            QVERIFY(m.contains("step") && m.contains("key") && m.contains("value"));
            if (m["key"].toString() == "train_loss" && m["step"].toInt() == 16) finalLoss = true;
        }
        QVERIFY(finalLoss);
        for (const auto& v : layers)
            for (const char* key : {"step", "layer", "k", "active", "ablated", "pruned", "regrown", "sad", "sparsity"})
                QVERIFY2(v.toObject().contains(key), key);
        const QJsonArray weights = o["weights"].toArray();
        QVERIFY(!weights.isEmpty());
        for (const auto& v : weights) {
            const auto w = v.toObject();
            for (const char* key : {"step", "layer", "count", "mean", "std", "min", "max", "histogram"})
                QVERIFY2(w.contains(key), key);
            qint64 total = 0;
            for (const auto& c : w["histogram"].toArray()) total += c.toInteger();
            QCOMPARE(total, w["count"].toInteger());
            QVERIFY(w["min"].toDouble() <= w["max"].toDouble());
        }
    });
}

void TestCliRuns::diffPrintsOnlyDifferingKeys() {
    guarded([&] {
        REQUIRE_TRAINED();
        const auto results = runParallel({runsArgs(t.db, {"diff", QString::number(t.a), QString::number(t.b)}),
                                          runsArgs(t.db, {"diff", QString::number(t.a), QString::number(t.a)})});
        const Result& r = results[0];
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QStringList keys;
        for (const auto& line : r.out.trimmed().split('\n')) keys << line.simplified().section(' ', 0, 0);
        keys.sort();
        QCOMPARE(keys, (QStringList{"method", "seed"}));
        for (const auto& line : r.out.trimmed().split('\n'))
            if (line.startsWith("method")) QCOMPARE(line.simplified(), QString("method srigl set"));

        const Result& same = results[1];
        QCOMPARE(same.exitCode, 0);
        QVERIFY2(same.out.contains("identical"), qPrintable(same.out));
    });
}

void TestCliRuns::deleteNeedsYes() {
    guarded([&] {
        REQUIRE_TRAINED();
        QTemporaryDir dir;
        const QString db = copyDb(t, dir);
        const QString a = QString::number(t.a);
        Result refused = runs(db, {"delete", a}); // stdin is not a terminal: nobody to ask
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains("--yes"), qPrintable(refused.err));
        {
            RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
            QCOMPARE(store.listRuns().size(), size_t(2));
            QVERIFY(!store.metrics(t.a).empty());
        }

        Result deleted = runs(db, {"delete", a, "--yes"});
        QVERIFY2(deleted.exitCode == 0, qPrintable(deleted.err));
        const auto after = runParallel({runsArgs(db, {"list", "--json"}), runsArgs(db, {"show", a})});
        QCOMPARE(idsOf(QJsonDocument::fromJson(after[0].out.toUtf8()).array()), QList<qint64>{t.b});
        const Result& gone = after[1];
        QCOMPARE(gone.exitCode, 2);
        QVERIFY2(gone.err.contains(a), qPrintable(gone.err));
        // The other run keeps its records; the deleted one leaves none behind.
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QVERIFY(store.integrityOk());
        QVERIFY(!store.metrics(t.b).empty());
        QVERIFY(!store.masks(t.b).empty());
        QVERIFY(!store.lastCheckpoint(t.a));
    });
}

void TestCliRuns::unknownIdExitsTwo() {
    guarded([&] {
        REQUIRE_TRAINED();
        QTemporaryDir dir;
        const QString db = copyDb(t, dir);
        const QList<QStringList> commands = {runsArgs(db, {"show", "98765", "--json"}),
                                             runsArgs(db, {"tag", "98765", "x"}),
                                             runsArgs(db, {"delete", "98765", "--yes"}),
                                             runsArgs(db, {"export", "98765", "--format", "json"}),
                                             {"train", "--json", "--db", db, "--resume", "98765"}};
        const auto results = runParallel(commands);
        for (int i = 0; i < commands.size(); ++i) {
            const QString c = commands[i].mid(3).join(' ');
            const Result& r = results[i];
            QVERIFY2(r.exitCode == 2, qPrintable(c + ": exit " + QString::number(r.exitCode)));
            QVERIFY2(r.err.contains("98765"), qPrintable(c + ": " + r.err));
            QVERIFY2(r.out.isEmpty(), qPrintable(c + ": " + r.out));
        }
        // Nothing changed.
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QCOMPARE(store.listRuns().size(), size_t(2));
        QVERIFY(store.run(t.a).tags.empty());
        QVERIFY(store.run(t.a).status == RunStatus::Finished);
    });
}

void TestCliRuns::textFileDatabaseExitsTwoUnchanged() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        QByteArray text;
        for (int i = 0; i < 100; ++i) text += "my lab notes, line " + QByteArray::number(i) + "\n";
        {
            QFile f(db);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(text);
        }
        const QList<QStringList> commands = {{"runs", "--db", db, "list", "--json"},
                                             {"runs", "--db", db, "show", "1"},
                                             smallTrain(db)};
        const auto results = runParallel(commands);
        for (int i = 0; i < commands.size(); ++i) {
            const QString c = commands[i].join(' ');
            const Result& r = results[i];
            QVERIFY2(r.exitCode == 2, qPrintable(c + ": exit " + QString::number(r.exitCode) + " " + r.err));
            QVERIFY2(r.err.contains(db), qPrintable(c + ": " + r.err));
        }
        QCOMPARE(fileBytes(db), text);
        QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot), QStringList{"runs.db"});
    });
}

void TestCliRuns::missingDatabaseIsNotCreated() {
    // Issue #3, "Bad input": a missing database file gets a clear error. Commands that only read or
    // change existing runs must not create an empty database (and its folders) at a mistyped path.
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("typo/runs.db");
        for (const QStringList& c : QList<QStringList>{{"list"}, {"show", "1"}}) {
            Result r = runs(db, c);
            QVERIFY2(!QFile::exists(db), qPrintable(c.join(' ') + " created " + db));
            QVERIFY2(r.exitCode == 2, qPrintable(c.join(' ') + ": exit " + QString::number(r.exitCode)));
            QVERIFY2(r.err.contains(db), qPrintable(c.join(' ') + ": " + r.err));
        }
    });
}

void TestCliRuns::killedRunIsInterruptedAndResumes() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const std::string path = db.toStdString();
        QStringList args = smallTrain(db);
        args << "--set" << "synthetic_train=2048" << "--set" << "epochs=20" << "--set" << "checkpoint_every=20";

        QProcess p;
        prepare(p);
        p.start(kSrigl, args);
        p.closeWriteChannel();
        QVERIFY(p.waitForStarted());
        qint64 runId = 0, killedAfter = 0;
        QElapsedTimer timer;
        timer.start();
        // Read the JSON lines as they come; SIGKILL once a step beyond 60 is reported.
        while (killedAfter == 0 && p.state() == QProcess::Running && timer.elapsed() < 120000) {
            p.waitForReadyRead(1000);
            while (p.canReadLine()) {
                const QJsonObject e = QJsonDocument::fromJson(p.readLine()).object();
                if (e["event"].toString() == "run") runId = e["run_id"].toInteger();
                if (e["event"].toString() == "step" && e["step"].toInteger() > 60) {
                    killedAfter = e["step"].toInteger();
                    p.kill(); // SIGKILL: no handler runs, nothing is finished or flushed
                    break;
                }
            }
        }
        if (killedAfter == 0) p.kill();
        p.waitForFinished(30000);
        QVERIFY2(killedAfter > 60, qPrintable(QString::fromUtf8(p.readAllStandardError())));
        QVERIFY2(killedAfter < 640, "the training finished before it could be killed");
        QCOMPARE(p.exitStatus(), QProcess::CrashExit);
        QVERIFY(runId > 0);

        // The database opens, passes integrity_check, and the run shows as interrupted.
        const QJsonObject listed = findRun(listJson(db), runId);
        QCOMPARE(listed["status"].toString(), QString("interrupted"));
        // How far it got, as recorded while it ran.
        QVERIFY2(listed["steps"].toInt() > 0 && listed["steps"].toInt() < 640,
                 qPrintable(QString("steps %1").arg(listed["steps"].toInt())));
        std::vector<uint8_t> step0Bits;
        {
            RunStore store(path, RunStore::Mode::ReadOnly);
            QVERIFY(store.integrityOk());
            QVERIFY(store.run(runId).status == RunStatus::Interrupted);
            const auto last = store.lastCheckpoint(runId);
            QVERIFY2(last, "no checkpoint recorded before the kill");
            QVERIFY(last->first % 20 == 0 && last->first <= killedAfter);
            QVERIFY(QFile::exists(QString::fromStdString(last->second)));
            QVERIFY(!store.metrics(runId).empty());
            const auto masks = store.masks(runId);
            QVERIFY(!masks.empty());
            QCOMPARE(masks.front().step, int64_t(0));
            step0Bits = masks.front().mask.bits;
            qInfo("killed after step %lld; last recorded checkpoint at step %lld", static_cast<long long>(killedAfter),
                  static_cast<long long>(last->first));
        }

        // Resume by run id: continues from the checkpoint to the full 20 epochs * 32 steps.
        Result resumed = runSrigl({"train", "--json", "--db", db, "--resume", QString::number(runId)});
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
        const QJsonObject summary = lastJson(resumed.out);
        QCOMPARE(summary["steps"].toInt(), 20 * 32);
        QCOMPARE(summary["status"].toString(), QString("finished"));
        QCOMPARE(summary["run_id"].toInteger(), runId);
        for (const auto& line : resumed.out.trimmed().split('\n')) {
            const QJsonObject e = QJsonDocument::fromJson(line.toUtf8()).object();
            if (e["event"].toString() == "step") {
                QVERIFY2(e["step"].toInteger() > 60, qPrintable(line)); // continued, not restarted
                break;
            }
        }

        const QJsonArray after = listJson(db);
        QCOMPARE(after.size(), 1); // the same run, not a new one
        QCOMPARE(findRun(after, runId)["status"].toString(), QString("finished"));
        QCOMPARE(findRun(after, runId)["steps"].toInt(), 640);

        RunStore store(path, RunStore::Mode::ReadOnly);
        QVERIFY(store.integrityOk());
        // Every metric once: what was recorded after the checkpoint was dropped before being recorded again.
        std::set<std::pair<std::string, int64_t>> seen;
        int64_t lastLossStep = 0;
        for (const auto& m : store.metrics(runId)) {
            QVERIFY2(seen.insert({m.key, m.step}).second,
                     qPrintable(QString("metric %1 at step %2 twice").arg(QString::fromStdString(m.key)).arg(m.step)));
            if (m.key == "train_loss") lastLossStep = std::max(lastLossStep, m.step);
        }
        QCOMPARE(lastLossStep, int64_t(640));
        // The step-0 mask snapshot is still the initial mask, not the mask at the resumed step.
        const auto masks = store.masks(runId);
        QCOMPARE(masks.front().step, int64_t(0));
        QVERIFY2(masks.front().mask.bits == step0Bits, "the step-0 mask snapshot was overwritten by the resumed run");
        std::map<std::string, int64_t> lastMaskStep;
        for (const auto& m : masks) lastMaskStep[m.mask.name] = std::max(lastMaskStep[m.mask.name], m.step);
        QCOMPARE(lastMaskStep.size(), size_t(3));
    });
}

void TestCliRuns::renderWritesPictureAndVideo() {
    guarded([&] {
        REQUIRE_TRAINED();
        QTemporaryDir out;
        const QString png = out.filePath("fc1.png"), avi = out.filePath("fc1.avi");
        Result r = runs(t.db, {"render", QString::number(t.b), "--layer", "fc1", "--step", "8", "--out", png});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(QFileInfo(png).size() > 100);
        QVERIFY2(r.err.contains("at step 8"), qPrintable(r.err));
        r = runs(t.db, {"render", QString::number(t.b), "--layer", "fc1", "--out", avi});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(QFileInfo(avi).size() > 100);
        r = runs(t.db, {"render", QString::number(t.b), "--layer", "nope", "--out", png});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("fc1"), qPrintable(r.err)); // lists the layers there are
    });
}

// A layer recorded without masks (too large to snapshot): `runs export` lists its per-update
// statistics, `runs render` says why it cannot draw it; a layer recorded as a sample of its rows is
// drawn, and the command says it is a sample.
void TestCliRuns::statisticsOnlyLayerIsExportedNotDrawn() {
    guarded([] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        srigl::sessions::MaskRecord drawn, statsOnly;
        drawn.step = statsOnly.step = 4;
        drawn.mask.name = drawn.stats.name = "fc1";
        drawn.mask.outFeatures = drawn.stats.outFeatures = 2;
        drawn.mask.fanIn = drawn.stats.fanIn = 4;
        drawn.mask.bits = {0x5a};
        drawn.stats.k = 2;
        statsOnly.mask.name = statsOnly.stats.name = "huge";
        statsOnly.mask.outFeatures = statsOnly.stats.outFeatures = 65536;
        statsOnly.mask.fanIn = statsOnly.stats.fanIn = 65536;
        statsOnly.stats.k = 655;
        statsOnly.stats.pruned = statsOnly.stats.regrown = 1234;
        const int64_t id = storeRun(db.toStdString(), minimalRun("huge"), {}, {drawn, statsOnly});
        const QString run = QString::number(id);
        const Result csv = runs(db, {"export", run});
        QCOMPARE(csv.exitCode, 0);
        QVERIFY2(csv.out.contains("layer,4,,,huge,655,"), qPrintable(csv.out));
        QVERIFY2(csv.out.contains("layer,4,,,fc1,2,"), qPrintable(csv.out));
        const Result render = runs(db, {"render", run, "--layer", "huge", "--out", dir.filePath("huge.png")});
        QCOMPARE(render.exitCode, 2);
        QVERIFY2(render.err.contains("65536 x 65536") && render.err.contains("too large to snapshot"), qPrintable(render.err));
        QVERIFY(!QFile::exists(dir.filePath("huge.png")));
        QCOMPARE(runs(db, {"render", run, "--layer", "fc1", "--out", dir.filePath("fc1.png")}).exitCode, 0);

        // A layer stored as a sample of its rows (every 3rd of 6 neurons) is drawn, and says so.
        srigl::sessions::MaskRecord sampled = drawn;
        sampled.mask.name = sampled.stats.name = "wide";
        sampled.mask.rowStride = 3;
        sampled.mask.layerOutFeatures = sampled.stats.outFeatures = 6;
        const int64_t other = storeRun(db.toStdString(), minimalRun("sampled"), {}, {sampled});
        const Result picture =
            runs(db, {"render", QString::number(other), "--layer", "wide", "--out", dir.filePath("wide.png")});
        QVERIFY2(picture.exitCode == 0, qPrintable(picture.err));
        QVERIFY2(picture.err.contains("every 3rd of its 6 neurons"), qPrintable(picture.err));
        QVERIFY(QFile::exists(dir.filePath("wide.png")));
    });
}

void TestCliRuns::renderWeightHeatmaps() {
    guarded([&] {
        REQUIRE_TRAINED();
        QTemporaryDir out;
        const QString png = out.filePath("w.png"), png2 = out.filePath("w2.png"), avi = out.filePath("w.avi"),
                      bad = out.filePath("bad.png");
        const QString id = QString::number(t.a);
        const auto results = runParallel(
            {runsArgs(t.db, {"render", id, "--layer", "fc2", "--what", "weights", "--step", "8", "--out", png}),
             runsArgs(t.db, {"render", id, "--layer", "fc2", "--what", "weights", "--colormap", "viridis", "--out", png2}),
             runsArgs(t.db, {"render", id, "--layer", "fc1", "--what", "weights", "--out", avi}),
             runsArgs(t.db, {"render", id, "--layer", "fc1", "--what", "weights", "--colormap", "nope", "--out", bad}),
             runsArgs(t.db, {"render", id, "--layer", "fc9", "--what", "weights", "--out", bad}),
             runsArgs(t.db, {"render", id, "--layer", "fc1", "--what", "gradients", "--out", bad})});
        QVERIFY2(results[0].exitCode == 0, qPrintable(results[0].err));
        QVERIFY2(results[0].err.contains("at step 8"), qPrintable(results[0].err));
        QVERIFY(QFileInfo(png).size() > 100);
        QVERIFY2(results[1].exitCode == 0, qPrintable(results[1].err));
        QVERIFY(QFileInfo(png2).size() > 100);
        QVERIFY(fileBytes(png) != fileBytes(png2)); // another colour map, another picture
        QVERIFY2(results[2].exitCode == 0, qPrintable(results[2].err));
        QVERIFY(QFileInfo(avi).size() > 100);
        QCOMPARE(results[3].exitCode, 2);
        QVERIFY2(results[3].err.contains("nope") && results[3].err.contains("viridis"), qPrintable(results[3].err));
        QCOMPARE(results[4].exitCode, 2);
        QVERIFY2(results[4].err.contains("fc9") && results[4].err.contains("fc1"), qPrintable(results[4].err));
        QCOMPARE(results[5].exitCode, 2);
        QVERIFY2(results[5].err.contains("gradients"), qPrintable(results[5].err));
        QVERIFY(!QFile::exists(bad));
    });
}

void TestCliRuns::frontEndLoadsNoTorch() {
    guarded([&] {
        // `srigl` reads the store itself: neither LibTorch, OpenCV nor Qt is among its libraries...
        QProcess ldd;
        ldd.start("ldd", {kSrigl});
        QVERIFY(ldd.waitForFinished(30000));
        const QString libs = QString::fromUtf8(ldd.readAllStandardOutput());
        QVERIFY2(libs.contains("libsqlite3"), qPrintable(libs));
        QVERIFY2(!libs.contains("libtorch") && !libs.contains("libc10") && !libs.contains("Qt6") && !libs.contains("opencv"),
                 qPrintable(libs));
        // ...and hands every other command to srigl-engine with the same arguments.
        const auto results = runParallel({{"--version"}, {"train", "--set", "methd=srigl", "--no-db"}, {"bogus"}});
        QVERIFY2(results[0].exitCode == 0 && results[0].out.contains("srigl"), qPrintable(results[0].err));
        QCOMPARE(results[1].exitCode, 2);
        QVERIFY2(results[1].err.contains("methd"), qPrintable(results[1].err));
        QCOMPARE(results[2].exitCode, 2);
    });
}

void TestCliRuns::dbOptionAfterSubcommand() {
    // Defect 18: `srigl runs list --db X` as well as `srigl runs --db X list`, for every subcommand.
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("after.db"), missing = dir.filePath("missing.db");
        const auto ids = storedRuns(db, {R"({"seed":1})", R"({"seed":2})", R"({"seed":3})"});
        const QString a = QString::number(ids[0]), b = QString::number(ids[1]), c = QString::number(ids[2]);
        const QList<QStringList> reads = {{"runs", "list", "--json", "--db", db},
                                          {"runs", "show", a, "--db", db},
                                          {"runs", "export", a, "--db", db, "--format", "json"},
                                          {"runs", "diff", "--db", db, a, b},
                                          {"runs", "sweeps", "--db", db},
                                          {"runs", "tag", a, "after", "--db", db},
                                          {"runs", "note", "--db", db, b, "noted after"},
                                          {"runs", "delete", c, "--yes", "--db", db}};
        const auto results = runParallel(reads);
        for (int i = 0; i < reads.size(); ++i)
            QVERIFY2(results[i].exitCode == 0, qPrintable(reads[i].join(' ') + ": " + results[i].err));
        QCOMPARE(QJsonDocument::fromJson(results[0].out.toUtf8()).array().size(), 3);
        QCOMPARE(QJsonDocument::fromJson(results[1].out.toUtf8()).object()["id"].toInteger(), ids[0]);
        QVERIFY2(results[3].out.contains("seed"), qPrintable(results[3].out));
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QCOMPARE(store.run(ids[0]).tags, std::vector<std::string>{"after"});
        QCOMPARE(store.run(ids[1]).notes, std::string("noted after"));
        QCOMPARE(store.listRuns().size(), size_t(2));
        // render (handed to srigl-engine) takes it there too: the error names the database given after.
        Result render = runSrigl({"runs", "render", a, "--layer", "fc1", "--out", dir.filePath("x.png"), "--db", missing});
        QCOMPARE(render.exitCode, 2);
        QVERIFY2(render.err.contains(missing), qPrintable(render.err));
    });
}

void TestCliRuns::noteAndTagRefuseBadText() {
    // Defect 11 at the door: text that is not UTF-8, or absurdly long, is refused naming the field.
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const QString id = QString::number(storedRuns(db, {"{}"})[0]);
        const QByteArray before = fileBytes(db);
        const Result note = runSriglWithByte({"runs", "--db", db, "note", id, "caf@E9@"});
        const Result tag = runSriglWithByte({"runs", "--db", db, "tag", id, "caf@E9@"});
        const Result longNote = runSrigl({"runs", "--db", db, "note", id, QString(70000, 'x')});
        const Result longTag = runSrigl({"runs", "--db", db, "tag", id, QString(70000, 'x')});
        for (const auto& [r, field] : {std::pair{note, "note"}, {tag, "tag"}, {longNote, "note"}, {longTag, "tag"}}) {
            QVERIFY2(r.exitCode == 2, qPrintable(QString(field) + ": exit " + QString::number(r.exitCode) + " " + r.err));
            QVERIFY2(r.err.contains(QString("the ") + field), qPrintable(r.err));
            QVERIFY2(r.err.size() < 1000, "the message quotes the whole text");
        }
        QVERIFY2(note.err.contains("UTF-8") && tag.err.contains("UTF-8"), qPrintable(note.err + tag.err));
        QVERIFY2(longNote.err.contains("70000"), qPrintable(longNote.err));
        QCOMPARE(fileBytes(db), before);
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QVERIFY(store.run(id.toLongLong()).notes.empty());
        QVERIFY(store.run(id.toLongLong()).tags.empty());
    });
}

void TestCliRuns::readersSurviveBadStoredText() {
    // Defect 11 for what older versions stored: invalid UTF-8 in names, notes, tags and configs,
    // and a config that is not JSON, must not break any reader for the whole database.
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const auto ids = storedRuns(db, {"{}", "{}", R"({"method":"srigl","seed":2})"});
        const QString a = QString::number(ids[0]), b = QString::number(ids[1]), c = QString::number(ids[2]);
        {
            RawDb raw(db.toStdString());
            // 636166E9: "caf" and a Latin-1 e-acute, not UTF-8.
            // {"method":"caf\xe9","seed":1}
            raw.exec("UPDATE runs SET name = CAST(X'636166E9' AS TEXT), notes = CAST(X'6E6F7465E9' AS TEXT), "
                     "config = CAST(X'7B226D6574686F64223A22636166E9222C2273656564223A317D' AS TEXT) WHERE id = " +
                     a.toStdString());
            raw.exec("UPDATE runs SET config = 'not json {' WHERE id = " + b.toStdString());
            raw.exec("INSERT INTO run_tags(run_id, tag) VALUES(" + a.toStdString() + ", CAST(X'746167E9' AS TEXT))");
            raw.exec("INSERT INTO sweeps(name, created_at, status, base_config, grid) VALUES(CAST(X'7377E9' AS TEXT), 1, "
                     "'finished', '{}', '[{\"key\":\"seed\",\"values\":[1,2]}, 5, {\"key\":\"lr\"}]')");
        }
        const QList<QStringList> commands = {runsArgs(db, {"list", "--json"}),
                                             runsArgs(db, {"list"}),
                                             runsArgs(db, {"show", a}),
                                             runsArgs(db, {"show", b}),
                                             runsArgs(db, {"export", a, "--format", "json"}),
                                             runsArgs(db, {"export", a}),
                                             runsArgs(db, {"diff", a, c}),
                                             runsArgs(db, {"sweeps", "--json"}),
                                             runsArgs(db, {"sweeps"})};
        const auto results = runParallel(commands);
        for (int i = 0; i < commands.size(); ++i)
            QVERIFY2(results[i].exitCode == 0, qPrintable(commands[i].mid(3).join(' ') + ": " + results[i].err));
        const QString replacement(QChar(0xFFFD));
        const QJsonArray all = QJsonDocument::fromJson(results[0].out.toUtf8()).array();
        QCOMPARE(all.size(), 3);
        QCOMPARE(findRun(all, ids[0])["name"].toString(), "caf" + replacement);
        QCOMPARE(findRun(all, ids[0])["notes"].toString(), "note" + replacement);
        QCOMPARE(findRun(all, ids[0])["tags"].toArray(), QJsonArray{"tag" + replacement});
        QVERIFY2(results[1].out.contains("caf"), qPrintable(results[1].out));
        const QJsonObject showA = QJsonDocument::fromJson(results[2].out.toUtf8()).object();
        QCOMPARE(showA["config"].toObject()["method"].toString(), "caf" + replacement);
        // A config that is not JSON is shown as the text it is, not dropped.
        QCOMPARE(QJsonDocument::fromJson(results[3].out.toUtf8()).object()["config"].toString(), QString("not json {"));
        QCOMPARE(QJsonDocument::fromJson(results[4].out.toUtf8()).object()["run"].toObject()["name"].toString(),
                 "caf" + replacement);
        QVERIFY2(results[6].out.contains("method") && results[6].out.contains("seed"), qPrintable(results[6].out));
        const QJsonArray sweeps = QJsonDocument::fromJson(results[7].out.toUtf8()).array();
        QCOMPARE(sweeps.size(), 1);
        QCOMPARE(sweeps[0].toObject()["name"].toString(), "sw" + replacement);
        QVERIFY2(results[8].out.contains("seed=1,2"), qPrintable(results[8].out));
    });
}

void TestCliRuns::deadWriterShowsInterrupted() {
    // Defect 12: a run (and a sweep) whose writer is gone reads as interrupted, found without
    // marking it so, i.e. also where the file cannot be written.
    guarded([&] {
        DeadWriterDb d;
        {
            RawDb raw(d.db.toStdString());
            d.killWriters(raw);
        }
        const QString id = QString::number(d.dead);
        const auto results = runParallel({runsArgs(d.db, {"list", "--json"}), runsArgs(d.db, {"show", id}),
                                          runsArgs(d.db, {"sweeps", "--json"})});
        for (const auto& r : results) QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(findRun(QJsonDocument::fromJson(results[0].out.toUtf8()).array(), d.dead)["status"].toString(),
                 QString("interrupted"));
        QCOMPARE(QJsonDocument::fromJson(results[1].out.toUtf8()).object()["status"].toString(), QString("interrupted"));
        const QJsonArray sweeps = QJsonDocument::fromJson(results[2].out.toUtf8()).array();
        QCOMPARE(sweeps.size(), 1);
        QCOMPARE(sweeps[0].toObject()["status"].toString(), QString("interrupted"));
        // Reported, not written: the rows still say running.
        RawDb raw(d.db.toStdString());
        QCOMPARE(raw.text("SELECT status FROM runs WHERE id = " + id.toStdString()), std::string("running"));
        QCOMPARE(raw.text("SELECT status FROM sweeps"), std::string("running"));
    });
}

void TestCliRuns::readingNeverWrites() {
    // Defect 12: every reader leaves the database file and its WAL byte for byte as they were, with
    // a dead writer's run in it (which readers once marked interrupted, a write).
    guarded([&] {
        DeadWriterDb d;
        // A connection held open keeps what the raw writes left in the WAL there (the last one to
        // close would checkpoint it into the file), so the WAL's bytes are compared too.
        RunStore holder(d.db.toStdString(), RunStore::Mode::ReadOnly);
        {
            RawDb raw(d.db.toStdString());
            d.killWriters(raw);
        }
        const QByteArray db = fileBytes(d.db), wal = fileBytes(d.db + "-wal");
        const QString a = QString::number(d.a), b = QString::number(d.b), dead = QString::number(d.dead);
        const QList<QStringList> commands = {runsArgs(d.db, {"list", "--json"}),
                                             runsArgs(d.db, {"list"}),
                                             runsArgs(d.db, {"show", dead}),
                                             runsArgs(d.db, {"export", dead}),
                                             runsArgs(d.db, {"export", a, "--format", "json"}),
                                             runsArgs(d.db, {"diff", a, b}),
                                             runsArgs(d.db, {"sweeps"}),
                                             runsArgs(d.db, {"sweeps", "--json"})};
        const auto results = runParallel(commands);
        for (int i = 0; i < commands.size(); ++i)
            QVERIFY2(results[i].exitCode == 0, qPrintable(commands[i].mid(3).join(' ') + ": " + results[i].err));
        QVERIFY2(fileBytes(d.db) == db, "a reader changed the database file");
        QVERIFY2(fileBytes(d.db + "-wal") == wal, "a reader wrote to the WAL");
    });
}

void TestCliRuns::deleteRemovesCheckpointFiles() {
    // Defect 17: `runs delete` removes the run's checkpoint files too, and says so.
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db"), ckpt = dir.filePath("run.ckpt"), other = dir.filePath("other.ckpt");
        const auto ids = storedRuns(db, {"{}", "{}"});
        {
            RunStore store(db.toStdString());
            store.addCheckpoint(ids[0], 100, ckpt.toStdString());
            store.addCheckpoint(ids[1], 100, other.toStdString());
        }
        for (const auto& f : {ckpt, other}) {
            QFile file(f);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write("SRIGLCKP and the rest"); // the store removes only files that start as checkpoints do
        }
        const Result r = runs(db, {"delete", QString::number(ids[0]), "--yes"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("deleted run " + QString::number(ids[0])), qPrintable(r.err));
        QVERIFY2(r.err.contains("removed checkpoint " + ckpt), qPrintable(r.err));
        QVERIFY(!QFile::exists(ckpt));
        QVERIFY(QFile::exists(other)); // another run's checkpoint stays
    });
}

void TestCliRuns::deleteOfLiveRunIsRefused() {
    // Defect 4 through the CLI: a run whose writer (this test process) is alive cannot be deleted.
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const int64_t live = storeRun(db.toStdString(), minimalRun("live"));
        const Result r = runs(db, {"delete", QString::number(live), "--yes"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QString::number(live)), qPrintable(r.err));
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QVERIFY(store.run(live).status == RunStatus::Running);
    });
}

// A cluster job killed with its node: its run said "running" on node07 for ever, and every resume
// or delete from another machine was refused with no way out.
void TestCliRuns::releaseLetsARunOfAGoneMachineResume() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const Result trained = runSrigl(smallTrain(db));
        QVERIFY2(trained.exitCode == 0, qPrintable(trained.err));
        const QString id = QString::number(lastJson(trained.out)["run_id"].toInteger());
        const auto stampNode07 = [&](int64_t agoMs) {
            RawDb(db.toStdString())
                .exec("UPDATE runs SET host = 'node07', pid = 4242, status = 'running', heard_at = " +
                      std::to_string(srigl::sessions::nowMs() - agoMs) + " WHERE id = " + id.toStdString());
        };
        // Heard from seconds ago: most likely alive, released only with --force.
        stampNode07(5000);
        Result r = runs(db, {"list"});
        QVERIFY2(r.err.contains("last heard from 5 s ago") && !r.err.contains("if that job is gone"), qPrintable(r.err));
        r = runs(db, {"release", id});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("was heard from 5 s ago (process 4242 on node07)") && r.err.contains("--force"),
                 qPrintable(r.err));
        r = runs(db, {"release", id, "--force"});
        QVERIFY2(r.exitCode == 0 && r.err.contains("released run " + id), qPrintable(r.err));
        // Last heard from an hour ago: the job died with its node.
        stampNode07(3600 * 1000);
        r = runs(db, {"list"});
        QVERIFY2(r.err.contains("run " + id + " runs as process 4242 on node07, last heard from 60 min ago; if that "
                                "job is gone: srigl runs release " + id),
                 qPrintable(r.err));
        const QStringList resume = {"train", "--resume", id, "--db", db, "--set", "epochs=2", "--set", "threads=1"};
        r = runSrigl(resume);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("node07") && r.err.contains("srigl runs release " + id), qPrintable(r.err));
        r = runs(db, {"release"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("give a run id or --sweep ID"), qPrintable(r.err));
        r = runs(db, {"release", id});
        QVERIFY2(r.exitCode == 0 && r.err.contains("released run " + id + " (process 4242 on node07)"), qPrintable(r.err));
        r = runs(db, {"release", id});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("interrupted, not running: nothing to release"), qPrintable(r.err));
        r = runSrigl(resume);
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QVERIFY(store.run(id.toLongLong()).status == RunStatus::Finished);
    });
}

// `cp runs.db` during training misses what is still in runs.db-wal; `runs backup` copies a snapshot.
void TestCliRuns::backupIsAConsistentCopyThatNeverReplaces() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db"), copy = dir.filePath("archive/runs-copy.db");
        const Result trained = runSrigl(smallTrain(db));
        QVERIFY2(trained.exitCode == 0, qPrintable(trained.err));
        Result r = runs(db, {"backup", copy});
        QVERIFY2(r.exitCode == 0 && r.err.contains("copied 1 run (") && r.err.contains("Checkpoint files are not in it"),
                 qPrintable(r.err));
        const Result original = runs(db, {"list", "--json"}), copied = runs(copy, {"list", "--json"});
        QCOMPARE(copied.exitCode, 0);
        QCOMPARE(copied.out, original.out);
        const QByteArray before = fileBytes(copy.toStdString());
        r = runs(db, {"backup", copy});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("exists; a copy never replaces a file"), qPrintable(r.err));
        QCOMPARE(fileBytes(copy.toStdString()), before);
        r = runs(dir.filePath("missing.db"), {"backup", dir.filePath("x.db")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("no such database"), qPrintable(r.err));
        QVERIFY(!QFile::exists(dir.filePath("x.db")));
    });
}

// Each cluster job recorded into its own database; the researcher wants the runs side by side.
void TestCliRuns::mergeBringsAnotherDatabasesRunsHere() {
    guarded([&] {
        QTemporaryDir dir;
        const QString node = dir.filePath("node07.db"), all = dir.filePath("all.db");
        Result r = runSrigl(smallTrain(node));
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        // Into a new database: the merge creates it (the runs of several jobs' databases in one).
        const QString fresh = dir.filePath("combined/all-jobs.db");
        r = runs(fresh, {"merge", node});
        QVERIFY2(r.exitCode == 0 && r.err.contains("as run 1"), qPrintable(r.err));
        const QJsonArray listed = QJsonDocument::fromJson(runs(fresh, {"list", "--json"}).out.toUtf8()).array();
        QCOMPARE(listed.size(), 1);
        QCOMPARE(listed[0].toObject()["origin_id"].toInteger(), 1);
        RunStore(all.toStdString()).createRun(minimalRun("local"));
        r = runs(all, {"merge", node});
        QVERIFY2(r.exitCode == 0 && r.err.contains("merged run 1 of " + node + " as run 2") &&
                     r.err.contains("1 merged, 0 skipped"),
                 qPrintable(r.err));
        r = runs(all, {"merge", node, "1"});
        QVERIFY2(r.exitCode == 0 && r.err.contains("skipped run 1 of " + node + ": already here as run 2"),
                 qPrintable(r.err));
        r = runs(all, {"list"});
        QVERIFY2(r.out.contains("(merged from node07.db run 1)"), qPrintable(r.out));
        const QJsonObject shown = QJsonDocument::fromJson(runs(all, {"show", "2"}).out.toUtf8()).object();
        QCOMPARE(shown["origin"].toString(), QFileInfo(node).absoluteFilePath());
        QCOMPARE(shown["origin_id"].toInteger(), 1);
        QCOMPARE(shown["status"].toString(), QStringLiteral("finished"));
        r = runSrigl({"train", "--resume", "2", "--db", all});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("is a copy merged from") && r.err.contains("srigl train --resume 1 --db"),
                 qPrintable(r.err));
        r = runs(all, {"merge", all});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("is the database the runs would be merged into"), qPrintable(r.err));
    });
}

QTEST_GUILESS_MAIN(TestCliRuns)
#include "test_cli_runs.moc"
