// Recording while the database refuses writes for a while (issue "Nothing lost, ever"): another
// process holding the database's write lock (the same path as a full disk or an I/O error) must
// not cost the run any record. The recorder holds its records, training goes on, and everything is
// stored exactly once when the database accepts writes again; what cannot be stored by the end is
// named. Errors that will not pass (a deleted run) still end recording at once.
#include <QtTest>

#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"
#include "tests/support/test_files.hpp"
#include "tests/support/tiny_configs.hpp"

#include "sessions/session/recorded_run.hpp"
#include "sessions/store/record_batch.hpp"
#include "sessions/store/recorder.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/sqlite_db.hpp"

#include <QTemporaryDir>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace srigl;
using namespace srigl::sessions;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Another process's write transaction on the database: writers of every other connection are
// refused (SQLITE_BUSY) until release().
class WriteLock {
public:
    explicit WriteLock(const std::string& path) : raw_(path) { raw_.exec("BEGIN EXCLUSIVE"); }
    ~WriteLock() { release(); }
    void release() {
        if (held_) raw_.exec("COMMIT");
        held_ = false;
    }

private:
    RawDb raw_;
    bool held_ = true;
};

// Every health report the recorder's thread gives.
struct HealthLog {
    std::mutex mutex;
    std::vector<RecordingHealth> reports;
    void add(const RecordingHealth& h) {
        std::lock_guard<std::mutex> lock(mutex);
        reports.push_back(h);
    }
    std::vector<RecordingHealth> all() {
        std::lock_guard<std::mutex> lock(mutex);
        return reports;
    }
};

void recordSteps(Recorder& rec, int64_t from, int64_t to) {
    for (int64_t s = from; s <= to; ++s) {
        StepMetrics m;
        m.step = s;
        m.loss = 1.0 / static_cast<double>(s);
        rec.onStep(m);
    }
}

bool waitUntilWaiting(const Recorder& rec, double seconds) {
    const auto start = Clock::now();
    while (secondsSince(start) < seconds) {
        if (rec.health().waiting) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

LayerMaskSnapshot maskOf(const std::string& name, int64_t out, int64_t in) {
    LayerMaskSnapshot m;
    m.name = name;
    m.outFeatures = out;
    m.fanIn = in;
    m.bits.assign(static_cast<size_t>((out * in + 7) / 8), 0x55);
    return m;
}

MaskRecord maskRecord(const std::string& name, int64_t step, int64_t out, int64_t in) {
    MaskRecord r;
    r.step = step;
    r.mask = maskOf(name, out, in);
    r.stats.name = name;
    r.stats.outFeatures = out;
    r.stats.fanIn = in;
    return r;
}

// Takes the write lock from another connection the moment the run's final record is about to be
// written, and holds it past SQLite's 5 s busy timeout (so the first attempt is refused).
std::string g_lockedDb;
std::unique_ptr<std::thread> g_locker;
void lockBeforeFinalRecord(SqliteCall call, const char* text) {
    if (call != SqliteCall::Prepare || g_locker || std::string(text).rfind("UPDATE runs SET status=?", 0) != 0) return;
    std::mutex m;
    std::condition_variable cv;
    bool locked = false;
    g_locker = std::make_unique<std::thread>([&m, &cv, &locked] {
        RawDb other(g_lockedDb);
        other.exec("BEGIN EXCLUSIVE");
        {
            std::lock_guard<std::mutex> g(m);
            locked = true;
        }
        cv.notify_all();
        std::this_thread::sleep_for(std::chrono::milliseconds(6000));
        other.exec("COMMIT");
    });
    std::unique_lock<std::mutex> g(m);
    cv.wait(g, [&] { return locked; });
}

} // namespace

class TestRecordingWaits : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void lockedDatabaseHoldsRecordsAndStoresThemOnce();
    void givesUpAfterGraceAndSaysWhatWasNotStored();
    void permanentErrorIsNotRetried();
    void batchIsStoredWholeOrNotAtAll();
    void shedDropsHeavyRecordsFirstAndKeepsNewestMasks();
    void recordedRunTrainsThroughALockAndKeepsEveryStep();
    void finalRecordWaitsForTheLock();
};

void TestRecordingWaits::lockedDatabaseHoldsRecordsAndStoresThemOnce() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(minimalRun("locked"));
        HealthLog log;
        auto lock = std::make_unique<WriteLock>(path);
        Recorder rec(path, id, {});
        rec.setHealthListener([&](const RecordingHealth& h) { log.add(h); });
        recordSteps(rec, 1, 20);
        QVERIFY2(waitUntilWaiting(rec, 10.0), "the recorder never reported that it waits for the lock");
        QVERIFY(rec.error().empty()); // a lock passes: not an error

        // Training is not held up: steps and a checkpoint's flush return at once while it waits.
        const auto start = Clock::now();
        recordSteps(rec, 21, 40);
        rec.onBeforeCheckpoint(40);
        QVERIFY2(secondsSince(start) < 0.5, qPrintable(QString("the training thread waited %1 s").arg(secondsSince(start))));
        QVERIFY(rec.health().waiting);

        lock->release();
        const std::string error = rec.close();
        QVERIFY2(error.empty(), error.c_str());
        QVERIFY(!rec.health().waiting);

        RawDb raw(path);
        QCOMPARE(raw.scalar("SELECT count(*) FROM metrics WHERE run_id = " + std::to_string(id)), int64_t(40 * 4));
        QCOMPARE(raw.scalar("SELECT count(*) FROM (SELECT DISTINCT step, key FROM metrics)"), int64_t(40 * 4));
        QCOMPARE(raw.scalar("SELECT steps FROM runs WHERE id = " + std::to_string(id)), int64_t(40));

        const auto reports = log.all();
        QVERIFY(reports.size() >= 2);
        QVERIFY(reports.front().waiting);
        QVERIFY2(reports.front().error.find("locked") != std::string::npos, reports.front().error.c_str());
        QVERIFY(!reports.back().waiting);
        QCOMPARE(reports.back().heldRecords, int64_t(0));
        QCOMPARE(reports.back().droppedRecords, int64_t(0));
    });
}

void TestRecordingWaits::givesUpAfterGraceAndSaysWhatWasNotStored() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(minimalRun("never-unlocked"));
        Recorder rec(path, id, {});
        rec.setCloseGrace(std::chrono::milliseconds(1500));
        recordSteps(rec, 1, 5);
        rec.onBeforeCheckpoint(5); // stored
        WriteLock lock(path);
        recordSteps(rec, 6, 10);
        const auto start = Clock::now();
        const std::string error = rec.close();
        QVERIFY2(secondsSince(start) < 10.0, qPrintable(QString("close took %1 s").arg(secondsSince(start))));
        QVERIFY2(error.find("20 records of steps 6 to 10") != std::string::npos, error.c_str());
        QVERIFY2(error.find("could not be stored") != std::string::npos, error.c_str());
        QVERIFY2(error.find("locked") != std::string::npos, error.c_str());
        lock.release();
        RawDb raw(path);
        // What was stored before the lock is kept, untouched.
        QCOMPARE(raw.scalar("SELECT count(*) FROM metrics WHERE run_id = " + std::to_string(id)), int64_t(5 * 4));
        QCOMPARE(raw.scalar("SELECT max(step) FROM metrics"), int64_t(5));
    });
}

void TestRecordingWaits::permanentErrorIsNotRetried() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        { RunStore store(path); }
        Recorder rec(path, 777, {}); // no such run: its rows break a foreign key, every time
        rec.setCloseGrace(std::chrono::milliseconds(20000));
        recordSteps(rec, 1, 3);
        const auto start = Clock::now();
        const std::string error = rec.close();
        QVERIFY(!error.empty());
        QVERIFY2(secondsSince(start) < 5.0, qPrintable(QString("a permanent error was retried for %1 s").arg(secondsSince(start))));
        QVERIFY(!rec.health().waiting);
    });
}

void TestRecordingWaits::batchIsStoredWholeOrNotAtAll() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(minimalRun("atomic"));
        RecordBatch batch;
        for (int64_t s = 1; s <= 3; ++s) batch.metrics.push_back({s, "train_loss", 0.5});
        batch.masks.push_back(maskRecord("fc1", 3, 4, 6));
        batch.checkpoints.push_back({3, "/tmp/atomic.ckpt"});
        GradientRecord bad; // 5 values for a 2 x 3 layer: refused after the rows above were inserted
        bad.step = 3;
        bad.layer = "fc1";
        bad.outFeatures = 2;
        bad.fanIn = 3;
        bad.values.assign(5, 1.0f);
        batch.gradients.push_back(bad);
        bool threw = false;
        try {
            batch.writeTo(store, id);
        } catch (const StoreError&) {
            threw = true;
        }
        QVERIFY(threw);
        RawDb raw(path);
        QCOMPARE(raw.scalar("SELECT count(*) FROM metrics"), int64_t(0));
        QCOMPARE(raw.scalar("SELECT count(*) FROM masks"), int64_t(0));
        QCOMPARE(raw.scalar("SELECT count(*) FROM checkpoints"), int64_t(0));
        QCOMPARE(raw.scalar("SELECT steps FROM runs WHERE id = " + std::to_string(id)), int64_t(0));

        batch.gradients.clear();
        batch.writeTo(store, id); // the store still takes writes: the failed batch left no transaction open
        QCOMPARE(raw.scalar("SELECT count(*) FROM metrics"), int64_t(3));
        QCOMPARE(raw.scalar("SELECT count(*) FROM masks"), int64_t(1));
        QCOMPARE(raw.scalar("SELECT steps FROM runs WHERE id = " + std::to_string(id)), int64_t(3));
    });
}

void TestRecordingWaits::shedDropsHeavyRecordsFirstAndKeepsNewestMasks() {
    RecordBatch batch;
    for (int64_t s = 1; s <= 30; ++s) batch.metrics.push_back({s, "train_loss", 1.0});
    for (int64_t s : {0, 10, 20}) batch.masks.push_back(maskRecord("fc1", s, 100, 800)); // 10 kB each
    batch.masks.push_back(maskRecord("fc2", 0, 10, 100));
    batch.weightStats.push_back({10, {}});
    batch.weightValues.push_back({10, "fc1", std::vector<float>(20000, 1.0f)});
    GradientRecord g;
    g.step = 10;
    g.layer = "fc1";
    g.outFeatures = 100;
    g.fanIn = 800;
    g.values.assign(80000, 1.0f);
    batch.gradients.push_back(g);
    batch.checkpoints.push_back({20, "/tmp/x.ckpt"});
    QCOMPARE(batch.recordCount(), int64_t(30 + 4 + 1 + 1 + 1 + 1));
    QCOMPARE(batch.stepRange(), std::make_pair(int64_t(0), int64_t(30)));

    QCOMPARE(batch.shed(batch.bytes()), int64_t(0)); // within the limit: nothing goes

    // Room for the masks but not the weights: gradients and weights go, every mask stays.
    RecordBatch light = batch;
    QCOMPARE(light.shed(40000), int64_t(2));
    QVERIFY(light.gradients.empty() && light.weightValues.empty());
    QCOMPARE(light.masks.size(), size_t(4));
    QVERIFY(light.bytes() <= 40000);

    // Room for almost nothing: old masks go too, each layer's newest stays, metrics always stay.
    RecordBatch bare = batch;
    QCOMPARE(bare.shed(1), int64_t(4));
    QCOMPARE(bare.metrics.size(), size_t(30));
    QCOMPARE(bare.weightStats.size(), size_t(1));
    QCOMPARE(bare.checkpoints.size(), size_t(1));
    QCOMPARE(bare.masks.size(), size_t(2));
    QCOMPARE(bare.masks[0].step, int64_t(20));
    QCOMPARE(bare.masks[0].mask.name, std::string("fc1"));
    QCOMPARE(bare.masks[1].mask.name, std::string("fc2"));
}

void TestRecordingWaits::recordedRunTrainsThroughALockAndKeepsEveryStep() {
    guarded([&] {
        QTemporaryDir dir;
        RunRequest request;
        request.config = tinyRunConfig("16", 32, 2); // 16 steps
        request.dbPath = dbIn(dir);
        HealthLog log;
        request.onRecordingHealth = [&](const RecordingHealth& h) { log.add(h); };
        RecordedRun run(request, nullptr);

        // Another process takes the write lock for 2.5 s from the first step on; training does not
        // wait for it, and the recorder writes everything once the lock is gone (within its grace).
        std::mutex m;
        std::condition_variable cv;
        bool locked = false;
        std::thread other([&] {
            WriteLock lock(request.dbPath);
            {
                std::lock_guard<std::mutex> g(m);
                locked = true;
            }
            cv.notify_all();
            std::this_thread::sleep_for(std::chrono::milliseconds(2500));
        });
        {
            std::unique_lock<std::mutex> g(m);
            cv.wait(g, [&] { return locked; });
        }
        const RunEnd end = run.train();
        other.join();
        QVERIFY2(end.failure.empty(), end.failure.c_str());
        QVERIFY2(end.recordingError.empty(), end.recordingError.c_str());
        QVERIFY2(end.storeError.empty(), end.storeError.c_str());

        RunStore store(request.dbPath, RunStore::Mode::ReadOnly);
        const RunInfo info = store.run(run.runId());
        QVERIFY(info.status == RunStatus::Finished);
        QCOMPARE(info.error, std::string());
        QCOMPARE(info.steps, int64_t(16));
        // The same rows as the same run recorded without a lock, each once.
        RunRequest free = request;
        free.onRecordingHealth = nullptr;
        RecordedRun twin(free, nullptr);
        QVERIFY(twin.train().recordingError.empty());
        RawDb raw(request.dbPath);
        const auto rows = [&](int64_t id, const std::string& table) {
            return raw.scalar("SELECT count(*) FROM " + table + " WHERE run_id = " + std::to_string(id));
        };
        for (const char* table : {"metrics", "masks", "weights", "weight_stats", "checkpoints"})
            QCOMPARE(rows(run.runId(), table), rows(twin.runId(), table));
        QVERIFY(rows(run.runId(), "metrics") > 0 && rows(run.runId(), "masks") > 0);
        QCOMPARE(raw.scalar("SELECT count(*) FROM (SELECT DISTINCT step, key FROM metrics WHERE run_id = " +
                            std::to_string(run.runId()) + ")"),
                 rows(run.runId(), "metrics"));
        QCOMPARE(raw.scalar("SELECT max(step) FROM metrics WHERE run_id = " + std::to_string(run.runId())), int64_t(16));
        const auto reports = log.all();
        QVERIFY2(!reports.empty() && reports.front().waiting, "the run never reported the lock");
        QVERIFY(!reports.back().waiting);
    });
}

void TestRecordingWaits::finalRecordWaitsForTheLock() {
    guarded([&] {
        QTemporaryDir dir;
        RunRequest request;
        request.config = tinyRunConfig("16", 64, 1);
        request.dbPath = dbIn(dir);
        g_lockedDb = request.dbPath;
        RecordedRun run(request, nullptr);
        setSqliteObserver(lockBeforeFinalRecord);
        const RunEnd end = run.train();
        setSqliteObserver(nullptr);
        QVERIFY(g_locker);
        g_locker->join();
        g_locker.reset();
        QVERIFY2(end.storeError.empty(), end.storeError.c_str());
        RunStore store(request.dbPath, RunStore::Mode::ReadOnly);
        const RunInfo info = store.run(run.runId());
        QVERIFY(info.status == RunStatus::Finished); // not left "running" (read as interrupted)
        QCOMPARE(info.steps, int64_t(4));
        QCOMPARE(info.testAccuracy, end.summary.testAccuracy);
        QVERIFY(info.testAccuracy >= 0.0);
    });
}

QTEST_GUILESS_MAIN(TestRecordingWaits)
#include "test_recording_waits.moc"
