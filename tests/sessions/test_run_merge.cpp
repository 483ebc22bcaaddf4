// mergeRuns (srigl runs merge): runs a cluster job recorded into its own database, copied whole into
// another under new ids, never twice, never while running; a merged copy remembers its origin, is
// never resumed where its checkpoints are not its own, and deleting it removes none of them.
#include <QtTest>

#include "sessions/session/recorded_run.hpp"
#include "sessions/store/run_merge.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"
#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"
#include "tests/support/test_files.hpp"
#include "tests/support/tiny_configs.hpp"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <functional>
#include <string>
#include <thread>

using namespace srigl;
using namespace srigl::sessions;

namespace {

bool contains(const std::optional<std::string>& error, const char* words) {
    return error && error->find(words) != std::string::npos;
}

// A real recorded run (metrics, masks, weights, gradients, a checkpoint) with a tag, notes, a
// timing row and a config change; returns its id.
int64_t trainedRun(const std::string& db) {
    RunRequest request;
    request.config = tinyRunConfig("16", 32, 2); // 16 steps, SRigL
    request.config.delta_t = 4;
    request.dbPath = db;
    RecordedRun run(request, nullptr);
    const RunEnd end = run.train();
    if (!end.failure.empty()) throw std::runtime_error(end.failure);
    RunStore store(db);
    const int64_t id = run.runId();
    store.addTag(id, "cluster");
    store.setNotes(id, "node 7, job 4411");
    TimingRecord t;
    t.runId = id;
    t.device = "cpu";
    t.layer = "fc1";
    t.batch = 32;
    t.denseUs = 10.0;
    t.condensedUs = 4.0;
    store.addTimings({t});
    RawDb(db).exec("INSERT INTO config_history(run_id, step, config, created_at) VALUES(" + std::to_string(id) +
                   ", 8, '{\"lr\": 0.5}', 1)");
    return id;
}

// A fingerprint of stored values: equal contents give equal text.
template <typename T>
std::string digest(const std::vector<T>& values) {
    uint64_t h = 1469598103934665603ull;
    for (const T& v : values) h = (h ^ std::hash<T>{}(v)) * 1099511628211ull;
    return std::to_string(values.size()) + ":" + std::to_string(h);
}

// Everything stored about a run, but what a merge gives anew (id, origin), as comparable text.
std::string recordOf(RunStore& store, int64_t id) {
    std::string out;
    const RunInfo r = store.run(id);
    out += r.name + "|" + toString(r.status) + "|" + r.config + "|" + r.uuid + "|" + r.notes + "|" +
           std::to_string(r.steps) + "|" + std::to_string(r.testAccuracy) + "|" + r.method + "|" + r.host + "\n";
    for (const auto& t : r.tags) out += "tag " + t + "\n";
    for (const auto& m : store.metrics(id)) out += "metric " + std::to_string(m.step) + m.key + std::to_string(m.value) + "\n";
    for (const auto& m : store.masks(id))
        out += "mask " + std::to_string(m.step) + m.mask.name + std::to_string(m.stats.active) + " " +
               digest(m.mask.bits) + " " + digest(m.mask.ablated) + "\n";
    for (const auto& w : store.weightValues(id))
        out += "weights " + std::to_string(w.step) + w.layer + digest(w.values) + "\n";
    for (const auto& g : store.gradientValues(id))
        out += "gradient " + std::to_string(g.step) + g.layer + digest(g.values) + "\n";
    for (const auto& s : store.weightStats(id)) out += "stats " + std::to_string(s.step) + s.stats.name + std::to_string(s.stats.mean) + "\n";
    for (const auto& c : store.configHistory(id)) out += "config " + std::to_string(c.step) + c.config + "\n";
    for (const auto& t : store.timings(id)) out += "timing " + t.layer + std::to_string(t.condensedUs) + "\n";
    return out;
}

} // namespace

class TestRunMerge : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void mergedRunHoldsEveryRecord();
    void mergeTwiceCopiesNothingTwiceAndSkipsRunningRuns();
    void mergedRunIsNeverResumedAndKeepsItsOriginsCheckpoints();
    void refusesItselfAndForeignDatabases();
    void failureKeepsEarlierRunsAndNothingOfTheFailedOne();
    void twoMergesAtOnceCopyEachRunOnce();
};

void TestRunMerge::mergedRunHoldsEveryRecord() {
    guarded([] {
        QTemporaryDir dir;
        const std::string source = dbIn(dir, "node07.db"), target = dbIn(dir, "laptop.db");
        const int64_t from = trainedRun(source);
        RunStore here(target);
        for (int i = 0; i < 3; ++i)
            here.finishRun(here.createRun(minimalRun("local " + std::to_string(i))), RunStatus::Finished, 1, 0.5);
        here.deleteRun(3); // id 3 stays retired
        int64_t progressed = 0;
        const MergeResult result = mergeRuns(here, source, {}, [&](int64_t done, int64_t total) {
            progressed = done;
            return total == 1;
        });
        QCOMPARE(progressed, int64_t(1));
        QCOMPARE(int(result.merged.size()), 1);
        QVERIFY(result.skipped.empty());
        const int64_t id = result.merged[0].id;
        QCOMPARE(id, int64_t(4));
        QCOMPARE(result.merged[0].sourceId, from);
        RunStore there(source, RunStore::Mode::ReadOnly);
        const std::string expected = recordOf(there, from);
        QVERIFY(expected.find("gradient") != std::string::npos && expected.find("weights") != std::string::npos &&
                expected.find("timing") != std::string::npos);
        QCOMPARE(recordOf(here, id), expected);
        const RunInfo merged = here.run(id);
        QCOMPARE(merged.origin, QDir(dir.path()).absoluteFilePath("node07.db").toStdString());
        QCOMPARE(merged.originId, from);
        // Its checkpoint rows name the origin's files, found from anywhere.
        const auto checkpoint = here.lastCheckpoint(id);
        QVERIFY(checkpoint && QFile::exists(QString::fromStdString(checkpoint->second)));
        QCOMPARE(checkpoint->second, there.lastCheckpoint(from)->second);
        // A copy of the copy still comes from node07.db.
        RunStore third(dbIn(dir, "archive.db"));
        const MergeResult again = mergeRuns(third, target);
        QCOMPARE(int(again.merged.size()), 3);
        const RunInfo copyOfCopy = third.run(again.merged[2].id);
        QCOMPARE(copyOfCopy.origin, merged.origin);
        QCOMPARE(copyOfCopy.originId, from);
        QCOMPARE(third.run(again.merged[0].id).origin, QDir(dir.path()).absoluteFilePath("laptop.db").toStdString());
    });
}

void TestRunMerge::mergeTwiceCopiesNothingTwiceAndSkipsRunningRuns() {
    guarded([] {
        QTemporaryDir dir;
        const std::string source = dbIn(dir, "node.db"), target = dbIn(dir, "all.db");
        RunStore there(source);
        const int64_t a = storeRun(source, minimalRun("a"), {{1, "train_loss", 0.5}});
        const int64_t b = storeRun(source, minimalRun("b"), {{1, "train_loss", 0.25}});
        there.finishRun(a, RunStatus::Finished, 1, 0.9);
        there.finishRun(b, RunStatus::Finished, 1, 0.8);
        const int64_t live = there.createRun(minimalRun("still training")); // this process: alive
        RunStore here(target);
        const MergeResult first = mergeRuns(here, source, {b, live});
        QCOMPARE(int(first.merged.size()), 1);
        QCOMPARE(first.merged[0].name, std::string("b"));
        QCOMPARE(int(first.skipped.size()), 1);
        QCOMPARE(first.skipped[0].sourceId, live);
        QVERIFY2(first.skipped[0].reason.find("still running (process") != std::string::npos,
                 first.skipped[0].reason.c_str());
        const MergeResult second = mergeRuns(here, source);
        QCOMPARE(int(second.merged.size()), 1);
        QCOMPARE(second.merged[0].name, std::string("a"));
        QCOMPARE(int(second.skipped.size()), 2);
        QCOMPARE(second.skipped[0].reason, "already here as run " + std::to_string(first.merged[0].id));
        QCOMPARE(here.listRuns().size(), size_t(2));
        QVERIFY(contains(storeErrorOf([&] { mergeRuns(here, source, {a, 99}); }), "no run with id 99; nothing was merged"));
        QCOMPARE(here.listRuns().size(), size_t(2));
        // Stopped after the first run looked at: what was merged stays, the rest is not looked at.
        RunStore third(dbIn(dir, "third.db"));
        const MergeResult stopped = mergeRuns(third, source, {}, [](int64_t, int64_t) { return false; });
        QVERIFY(stopped.stopped);
        QCOMPARE(int(stopped.merged.size()), 1);
        QVERIFY(stopped.skipped.empty());
        QCOMPARE(third.listRuns().size(), size_t(1));
    });
}

void TestRunMerge::mergedRunIsNeverResumedAndKeepsItsOriginsCheckpoints() {
    guarded([] {
        QTemporaryDir dir;
        const std::string source = dbIn(dir, "node07.db"), target = dbIn(dir, "laptop.db");
        const int64_t from = trainedRun(source);
        RunStore here(target);
        const int64_t id = mergeRuns(here, source).merged.at(0).id;
        const std::string checkpoint = here.lastCheckpoint(id)->second;
        const QByteArray bytes = fileBytes(checkpoint);
        QVERIFY(!bytes.isEmpty());
        const auto resume = storeErrorOf([&] { here.reopenRun(id, -1); });
        QVERIFY2(contains(resume, "is a copy merged from") &&
                     contains(resume, ("srigl train --resume " + std::to_string(from) + " --db").c_str()),
                 resume.value_or("no error").c_str());
        QVERIFY(here.deleteRun(id).empty());
        QCOMPARE(fileBytes(checkpoint), bytes);
        RunStore there(source);
        there.reopenRun(from, -1); // the origin goes on with it
    });
}

void TestRunMerge::refusesItselfAndForeignDatabases() {
    guarded([] {
        QTemporaryDir dir;
        const std::string target = dbIn(dir, "runs.db"), other = dbIn(dir, "other.db");
        storeRun(target, minimalRun("mine"));
        RunStore here(target);
        QVERIFY(contains(storeErrorOf([&] { mergeRuns(here, target); }), "is the database the runs would be merged into"));
        const std::string link = dbIn(dir, "link.db");
        QVERIFY(QFile::link(QString::fromStdString(target), QString::fromStdString(link)));
        QVERIFY(contains(storeErrorOf([&] { mergeRuns(here, link); }), "is the database the runs would be merged into"));
        RawDb(other).exec("CREATE TABLE notes(text TEXT)");
        QVERIFY(contains(storeErrorOf([&] { mergeRuns(here, other); }), "not a SRigL Studio one"));
        QVERIFY(contains(storeErrorOf([&] { mergeRuns(here, dbIn(dir, "missing.db")); }), "no such database"));
        QCOMPARE(here.listRuns().size(), size_t(1));
    });
}

void TestRunMerge::failureKeepsEarlierRunsAndNothingOfTheFailedOne() {
    guarded([] {
        QTemporaryDir dir;
        const std::string source = dbIn(dir, "node.db"), target = dbIn(dir, "all.db");
        const int64_t good = storeRun(source, minimalRun("good"), {{1, "train_loss", 0.5}});
        const int64_t bad = storeRun(source, minimalRun("bad"), {{1, "train_loss", 0.5}, {2, "poison", 1.0}});
        {
            RunStore there(source);
            there.finishRun(good, RunStatus::Finished, 1, 0.9);
            there.finishRun(bad, RunStatus::Finished, 2, 0.9);
        }
        RunStore here(target);
        // A write the target refuses in the middle of the second run (as a full disk would).
        RawDb(target).exec("CREATE TRIGGER refuse BEFORE INSERT ON metrics WHEN NEW.key = 'poison' "
                           "BEGIN SELECT RAISE(ABORT, 'disk refused the write'); END");
        const auto error = storeErrorOf([&] { mergeRuns(here, source); });
        QVERIFY2(contains(error, "disk refused the write") && contains(error, "run 2 of") &&
                     contains(error, "was not merged; runs 1 (now 1) were, and a second merge skips them"),
                 error.value_or("no error").c_str());
        const auto runs = here.listRuns();
        QCOMPARE(runs.size(), size_t(1));
        QCOMPARE(runs[0].name, std::string("good"));
        QCOMPARE(RawDb(target).scalar("SELECT count(*) FROM metrics"), int64_t(1));
        RawDb(target).exec("DROP TRIGGER refuse");
        const MergeResult retry = mergeRuns(here, source);
        QCOMPARE(int(retry.merged.size()), 1);
        QCOMPARE(retry.merged[0].name, std::string("bad"));
        QCOMPARE(int(here.metrics(retry.merged[0].id).size()), 2);
    });
}

// Two processes merging the same database at the same moment (two terminals, a script run twice):
// the uuid check and the copy share one write transaction, so every run arrives once.
void TestRunMerge::twoMergesAtOnceCopyEachRunOnce() {
    guarded([] {
        QTemporaryDir dir;
        const std::string source = dbIn(dir, "node.db"), target = dbIn(dir, "all.db");
        {
            RunStore there(source);
            for (int r = 0; r < 12; ++r) {
                std::vector<Metric> m;
                for (int s = 0; s < 300; ++s) m.push_back({s, "train_loss", 1.0 / (s + 1)});
                const int64_t id = there.createRun(minimalRun("run " + std::to_string(r)));
                there.addMetrics(id, m);
                there.finishRun(id, RunStatus::Finished, 300, 0.9);
            }
        }
        RunStore(target).schemaVersion(); // created before the two start
        MergeResult a, b;
        std::string errorA, errorB;
        const auto mergeInto = [&](MergeResult& result, std::string& error) {
            try {
                RunStore here(target);
                result = mergeRuns(here, source);
            } catch (const std::exception& e) {
                error = e.what();
            }
        };
        std::thread first([&] { mergeInto(a, errorA); });
        std::thread second([&] { mergeInto(b, errorB); });
        first.join();
        second.join();
        QVERIFY2(errorA.empty() && errorB.empty(), (errorA + " / " + errorB).c_str());
        QCOMPARE(a.merged.size() + b.merged.size(), size_t(12));
        QCOMPARE(a.skipped.size() + b.skipped.size(), size_t(12));
        RunStore here(target, RunStore::Mode::ReadOnly);
        QCOMPARE(here.listRuns().size(), size_t(12));
        QCOMPARE(RawDb(target).scalar("SELECT count(DISTINCT uuid) FROM runs"), int64_t(12));
        QCOMPARE(RawDb(target).scalar("SELECT count(*) FROM metrics"), int64_t(12 * 300));
    });
}

QTEST_GUILESS_MAIN(TestRunMerge)
#include "test_run_merge.moc"
