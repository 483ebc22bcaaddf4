// The timing panel's facade over the engine's layer benchmark: a tiny bench completes, reports
// progress in order and stores exactly its rows; cancel and bad settings store nothing.
#include <QtTest>

#include "sessions/session/bench_job.hpp"
#include "sessions/store/store_error.hpp"
#include "tests/support/stored_runs.hpp"

#include <QTemporaryDir>

#include <cmath>

using namespace srigl;
using namespace srigl::sessions;

namespace {

BenchJobSettings tiny(const QString& db) {
    BenchJobSettings s;
    s.inFeatures = 64;
    s.outFeatures = 32;
    s.sparsities = {0.5, 0.9};
    s.batches = {1, 4};
    s.secondsPerVariant = 0.005;
    s.dbPath = db.toStdString();
    return s;
}

} // namespace

class TestBenchJob : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void tinyBenchStoresEveryCase();
    void cancelStoresNothing();
    void rejectsBadSettings();
    void runWithoutCheckpointIsRefused();
};

void TestBenchJob::tinyBenchStoresEveryCase() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    std::vector<BenchJobProgress> reports;
    const auto rows = runBenchJob(tiny(db), [&](const BenchJobProgress& p) { reports.push_back(p); });
    QCOMPARE(rows.size(), size_t(4));
    QCOMPARE(reports.size(), size_t(5)); // one before each case, one at the end
    for (size_t i = 0; i < reports.size(); ++i) {
        QCOMPARE(reports[i].done, int64_t(i));
        QCOMPARE(reports[i].total, int64_t(4));
    }
    for (const auto& r : rows) {
        QCOMPARE(r.device, std::string("cpu"));
        QCOMPARE(r.inFeatures, int64_t(64));
        QCOMPARE(r.outFeatures, int64_t(32));
        QVERIFY(r.denseUs > 0 && std::isfinite(r.denseUs));
        QVERIFY(r.condensedUs > 0 && std::isfinite(r.condensedUs));
        QVERIFY(r.structuredUs > 0);
        QVERIFY(!r.cpu.empty() && !r.kernel.empty());
    }
    QVERIFY(std::abs(rows[0].sparsity - 0.5) < 0.02);
    QVERIFY(std::abs(rows[3].sparsity - 0.9) < 0.02);
    QCOMPARE(rows[1].batch, int64_t(4));
    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    const auto stored = store.timings();
    QCOMPARE(stored.size(), size_t(4));
    QCOMPARE(stored[2].condensedUs, rows[2].condensedUs);
    QCOMPARE(stored[2].runId, int64_t(0));
}

void TestBenchJob::cancelStoresNothing() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    RunStore(db.toStdString()); // exists, empty
    std::atomic<bool> cancel{false};
    int reports = 0;
    auto stopAfterFirst = [&](const BenchJobProgress& p) {
        ++reports;
        if (p.done == 1) cancel = true; // one case measured, three to go
    };
    QVERIFY_THROWS_EXCEPTION(BenchJobCancelled, runBenchJob(tiny(db), stopAfterFirst, &cancel));
    QCOMPARE(reports, 2);
    QCOMPARE(RunStore(db.toStdString()).timings().size(), size_t(0));
}

void TestBenchJob::rejectsBadSettings() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    auto expect = [&](BenchJobSettings s, const char* words) {
        try {
            runBenchJob(s);
            QFAIL("expected std::invalid_argument");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(QString(e.what()).contains(words), e.what());
        }
    };
    auto s = tiny(db);
    s.batches.clear();
    expect(s, "batches");
    s = tiny(db);
    s.sparsities = {1.0};
    expect(s, "sparsities: must be in [0, 1)");
    s = tiny(db);
    s.device = "tpu";
    expect(s, "expected cpu or cuda");
    s = tiny(db);
    s.batches = {0};
    expect(s, "must be positive");
    QVERIFY(!QFile::exists(db)); // nothing was created either
}

void TestBenchJob::runWithoutCheckpointIsRefused() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    const int64_t id = storeRun(db.toStdString(), minimalRun());
    auto s = tiny(db);
    s.runId = id;
    try {
        runBenchJob(s);
        QFAIL("expected StoreError");
    } catch (const StoreError& e) {
        QVERIFY2(QString(e.what()).contains("no checkpoint"), e.what());
    }
    s.runId = 999;
    QVERIFY_THROWS_EXCEPTION(StoreError, runBenchJob(s));
    QCOMPARE(RunStore(db.toStdString()).timings().size(), size_t(0));
}

QTEST_MAIN(TestBenchJob)
#include "test_bench_job.moc"
