// The Studio's sweep job: a methods x sparsities x seeds grid trained point after point with
// progress for the grid, stopped by its cancel flag after the current step, resumed so that every
// point has exactly one run, and a bad grid that stores nothing.
#include <QtTest>

#include "engine/errors.hpp"
#include "sessions/session/sweep_job.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/sweep_store.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/tiny_configs.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

using namespace srigl;
using namespace srigl::sessions;

class TestSweepJob : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gridRunsEveryPointWithProgress();
    void cancelStopsAndResumeFinishes();
    void badGridStoresNothing();
    void recordingWaitShowsInThePointText();
};

namespace {

SweepJobSettings tinyGrid(const std::string& db) {
    SweepJobSettings s;
    s.dbPath = db;
    s.name = "grid";
    s.base = tinyRunConfig("16", 64, 2); // 8 steps
    s.base.delta_t = 2;
    s.axes = methodSparsitySeedGrid({"srigl", "rigl"}, {"0.8", "0.9"}, 2);
    return s;
}

} // namespace

void TestSweepJob::gridRunsEveryPointWithProgress() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    std::vector<JobProgress> seen;
    const auto r = runSweepJob(tinyGrid(db), [&](const JobProgress& p) { seen.push_back(p); });
    QVERIFY(r.status == RunStatus::Finished);
    QCOMPARE(r.points.size(), size_t{8});
    QVERIFY(!seen.empty());
    QCOMPARE(seen.back().total, 8 * kSweepProgressPerPoint);
    QCOMPARE(seen.back().done, seen.back().total);
    for (size_t i = 1; i < seen.size(); ++i) QVERIFY(seen[i].done >= seen[i - 1].done);
    QVERIFY(std::any_of(seen.begin(), seen.end(), [](const JobProgress& p) { return p.current.find("point 8/8") == 0; }));
    // Series per method against sparsity, two seeds each.
    QCOMPARE(r.results.xKey, std::string("sparsity"));
    QCOMPARE(r.results.series.size(), size_t{2});
    for (const auto& s : r.results.series) {
        QCOMPARE(s.points.size(), size_t{2});
        for (const auto& p : s.points) QCOMPARE(p.count, 2);
    }
    RunStore store(db, RunStore::Mode::ReadOnly);
    QCOMPARE(store.listRuns().size(), size_t{8});
    QCOMPARE(readSweepResults(store, r.sweepId).results.finished, int64_t{8});
}

void TestSweepJob::cancelStopsAndResumeFinishes() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    std::atomic<bool> cancel{false};
    const auto stopped = runSweepJob(
        tinyGrid(db), [&](const JobProgress& p) { if (p.current.find("point 3/8") == 0) cancel = true; }, &cancel);
    QVERIFY(stopped.status == RunStatus::Stopped);
    QCOMPARE(toString(stopped.points[0].status), toString(PointStatus::Finished));
    QCOMPARE(toString(stopped.points[1].status), toString(PointStatus::Finished));
    QCOMPARE(toString(stopped.points[2].status), toString(PointStatus::Stopped));
    QCOMPARE(toString(stopped.points[3].status), toString(PointStatus::Pending));
    QCOMPARE(stopped.results.finished, int64_t{2});

    SweepJobSettings resume;
    resume.dbPath = db;
    resume.resume = stopped.sweepId;
    const auto done = runSweepJob(resume);
    QVERIFY(done.status == RunStatus::Finished);
    QCOMPARE(done.results.finished, int64_t{8});
    QCOMPARE(done.points[2].runId, stopped.points[2].runId); // the stopped point continued its own run
    RunStore store(db, RunStore::Mode::ReadOnly);
    QCOMPARE(store.listRuns().size(), size_t{8});
}

void TestSweepJob::badGridStoresNothing() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    auto s = tinyGrid(db);
    s.axes = methodSparsitySeedGrid({"srigl"}, {"0.9", "1.5"}, 1);
    QVERIFY_THROWS_EXCEPTION(ConfigError, runSweepJob(s));
    QVERIFY(!QFile::exists(QString::fromStdString(db)));
}


void TestSweepJob::recordingWaitShowsInThePointText() {
    // Another process takes the database's write lock while a point trains: the point's progress
    // text says recording waits, then that it caught up, and the point's records are all stored.
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    SweepJobSettings s;
    s.dbPath = db;
    s.name = "locked";
    s.base = tinyRunConfig("16", 16, 2000); // long enough to be cancelled once the test has seen both notes
    s.base.eval_every = 0;
    s.axes = methodSparsitySeedGrid({"srigl"}, {}, 1);
    std::atomic<bool> cancel{false};
    std::mutex m;
    std::condition_variable cv;
    bool release = false, sawWait = false, sawCaughtUp = false;
    std::unique_ptr<std::thread> locker;
    const auto progress = [&](const JobProgress& p) {
        if (!locker && p.done > 0) {
            locker = std::make_unique<std::thread>([&] {
                RawDb other(db);
                other.exec("BEGIN EXCLUSIVE");
                std::unique_lock<std::mutex> lock(m);
                cv.wait(lock, [&] { return release; });
                other.exec("COMMIT");
            });
        }
        const bool waiting = p.current.find("recording waits") != std::string::npos;
        if (waiting && !sawWait) {
            sawWait = true;
            std::lock_guard<std::mutex> lock(m);
            release = true;
            cv.notify_all();
        }
        if (sawWait && !waiting && !sawCaughtUp) {
            sawCaughtUp = true;
            cancel = true;
        }
    };
    const auto r = runSweepJob(s, progress, &cancel);
    {
        std::lock_guard<std::mutex> lock(m);
        release = true;
        cv.notify_all();
    }
    if (locker) locker->join();
    QVERIFY2(sawWait, "the point's text never said that recording waits");
    QVERIFY(sawCaughtUp);
    QCOMPARE(r.points.size(), size_t{1});
    RunStore store(db, RunStore::Mode::ReadOnly);
    const RunInfo run = store.run(r.points[0].runId);
    QCOMPARE(run.error, std::string());
    RawDb raw(db);
    // Every logged step up to where the point stopped is stored, once.
    const std::string id = std::to_string(run.id);
    QCOMPARE(raw.scalar("SELECT count(*) FROM metrics WHERE run_id = " + id),
             raw.scalar("SELECT count(*) FROM (SELECT DISTINCT step, key FROM metrics WHERE run_id = " + id + ")"));
    QCOMPARE(raw.scalar("SELECT count(*) FROM metrics WHERE key = 'train_loss' AND run_id = " + id),
             raw.scalar("SELECT count(*) FROM metrics WHERE key = 'lr' AND run_id = " + id));
    QVERIFY(raw.scalar("SELECT max(step) FROM metrics WHERE run_id = " + id) * 2 > run.steps);
}

QTEST_GUILESS_MAIN(TestSweepJob)
#include "test_sweep_job.moc"
