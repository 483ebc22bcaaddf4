// The session store (sessions/): schema, round trips of runs, metrics, masks and checkpoints,
// deletion, resume, interrupted runs, a reader beside a writer, the recorder, and every bad input
// of the issue (not a database, another application's database, newer schema, missing, read-only
// and locked files): a clear StoreError and nothing stored changed.
#include <QtTest>

#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"
#include "tests/support/test_files.hpp"

#include "sessions/store/mask_codec.hpp"
#include "sessions/store/recorder.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/writer_stamp.hpp"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace srigl;
using namespace srigl::sessions;

namespace {

NewRun newRun(const std::string& name, const std::string& method = "srigl", double sparsity = 0.9) {
    NewRun r;
    r.name = name;
    r.config = R"({"method":")" + method + R"(","sparsity":)" + std::to_string(sparsity) + R"(,"marker":"cfg-)" +
               name + R"("})";
    r.engineVersion = "0.test";
    r.device = "cpu";
    r.blas = "openblas";
    r.threads = 3;
    r.method = method;
    r.model = "lenet300100";
    r.dataset = "synthetic";
    r.sparsity = sparsity;
    return r;
}

LayerMaskSnapshot randomSnapshot(const std::string& name, int64_t out, int64_t fanIn, uint32_t seed,
                                 std::vector<int64_t> ablated = {}) {
    LayerMaskSnapshot s;
    s.name = name;
    s.outFeatures = out;
    s.fanIn = fanIn;
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    s.bits.resize(static_cast<size_t>((out * fanIn + 7) / 8));
    for (auto& b : s.bits) b = static_cast<uint8_t>(byte(gen));
    s.ablated = std::move(ablated);
    return s;
}

LayerUpdateStats statsFor(const LayerMaskSnapshot& s, int64_t k, int64_t pruned, int64_t regrown) {
    LayerUpdateStats st;
    st.name = s.name;
    st.shape = {s.layerRows(), s.fanIn};
    st.outFeatures = s.layerRows();
    st.fanIn = s.fanIn;
    st.sparsity = 0.875;
    st.k = k;
    st.active = s.outFeatures - static_cast<int64_t>(s.ablated.size());
    st.ablated = static_cast<int64_t>(s.ablated.size());
    st.pruned = pruned;
    st.regrown = regrown;
    st.sad = pruned + regrown;
    return st;
}

MaskRecord record(int64_t step, LayerMaskSnapshot mask, int64_t k, int64_t pruned, int64_t regrown) {
    MaskRecord r;
    r.step = step;
    r.stats = statsFor(mask, k, pruned, regrown);
    r.mask = std::move(mask);
    return r;
}

// A snapshot of each of `layers` at steps 0, 4 and 8, step by step and in the given order within
// a step (the order the store keeps): out x fanIn, k = 3, `step` weights pruned and regrown.
std::vector<MaskRecord> snapshotsAtSteps048(const std::vector<std::string>& layers, int64_t out, int64_t fanIn) {
    std::vector<MaskRecord> snapshots;
    for (int64_t step : {0, 4, 8})
        for (const auto& layer : layers)
            snapshots.push_back(record(
                step, randomSnapshot(layer, out, fanIn, static_cast<uint32_t>(step * 10 + layer[2])), 3, step, step));
    return snapshots;
}

// Run `a` with snapshotsAtSteps048 of fc2 and fc1 (record order, not alphabetical), run `b` with
// one snapshot of fc9 at step 2.
struct TwoRunsWithSnapshots {
    int64_t a = 0, b = 0;
    std::vector<MaskRecord> in; // a's
};

TwoRunsWithSnapshots twoRunsWithSnapshots(RunStore& store) {
    TwoRunsWithSnapshots runs;
    runs.a = store.createRun(newRun("a"));
    runs.b = store.createRun(newRun("b"));
    runs.in = snapshotsAtSteps048({"fc2", "fc1"}, 7, 9);
    store.addMasks(runs.a, runs.in);
    store.addMasks(runs.b, {record(2, randomSnapshot("fc9", 2, 2, 1), 1, 0, 0)});
    return runs;
}

void compareRecords(const MaskRecord& got, const MaskRecord& want) {
    QCOMPARE(got.step, want.step);
    QCOMPARE(got.mask.name, want.mask.name);
    QCOMPARE(got.mask.outFeatures, want.mask.outFeatures);
    QCOMPARE(got.mask.fanIn, want.mask.fanIn);
    QVERIFY2(got.mask.bits == want.mask.bits, want.mask.name.c_str());
    QVERIFY2(got.mask.ablated == want.mask.ablated, want.mask.name.c_str());
    QCOMPARE(got.mask.rowStride, want.mask.rowStride);
    QCOMPARE(got.mask.layerRows(), want.mask.layerRows());
    QCOMPARE(got.stats.name, want.mask.name);
    QCOMPARE(got.stats.outFeatures, want.mask.layerRows());
    QCOMPARE(got.stats.fanIn, want.mask.fanIn);
    QCOMPARE(got.stats.k, want.stats.k);
    QCOMPARE(got.stats.active, want.stats.active);
    QCOMPARE(got.stats.ablated, want.stats.ablated);
    QCOMPARE(got.stats.pruned, want.stats.pruned);
    QCOMPARE(got.stats.regrown, want.stats.regrown);
    QCOMPARE(got.stats.sad, want.stats.sad);
    QCOMPARE(got.stats.sparsity, want.stats.sparsity);
    QCOMPARE(got.stats.thresholds.size(), want.stats.thresholds.size());
    QVERIFY2(std::memcmp(got.stats.thresholds.data(), want.stats.thresholds.data(),
                         want.stats.thresholds.size() * sizeof(float)) == 0,
             want.mask.name.c_str()); // bit for bit, -0 and NaN included
}

std::vector<int64_t> ids(const std::vector<RunInfo>& runs) {
    std::vector<int64_t> out;
    for (const auto& r : runs) out.push_back(r.id);
    return out;
}

// An observer that counts what the recorder passes on.
class CountingObserver : public TrainingObserver {
public:
    int starts = 0, steps = 0, updates = 0, evals = 0, checkpoints = 0, finished = 0;
    void onStart(const std::vector<LayerUpdateStats>&, int64_t) override { ++starts; }
    void onStep(const StepMetrics&) override { ++steps; }
    void onMaskUpdate(const MaskUpdateEvent&) override { ++updates; }
    void onEvaluation(const EvalMetrics&) override { ++evals; }
    void onCheckpoint(int64_t, const std::string&) override { ++checkpoints; }
    void onFinished(const TrainingSummary&) override { ++finished; }
};

} // namespace

class TestRunStore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void schemaCreatedOnNewFile();
    void reopenKeepsData();
    void runRoundTrip();
    void updateProgressOnlyGrows();
    void tagsAndNotes();
    void listRunsFilters();
    void metricsRoundTrip();
    void metricsNonFiniteValues();
    void maskCodecRoundTrip();
    void masksRoundTripBitExact();
    void masksFilterByLayer();
    void boundedMaskReadsForViewers();
    void maskStatsReadNoBlobs();
    void thresholdsRoundTripExactly();
    void sampledMasksRoundTrip();
    void lastCheckpointIsHighestStep();
    void deleteRunCascades();
    void reopenRunDropsLaterRecords();
    void unknownRunIdNamesId();
    void markInterruptedOnlyDeadWriters();
    void concurrentReaderWhileWriting();
    void concurrentCreationOfNewFile();
    void recorderEndToEnd();
    void recorderKeepsStaticLayersStepZeroSnapshot();
    void recorderKeepsStatisticsOfLayersWithoutSnapshots();
    void recorderReportsWriteError();
    void notADatabaseRefusedUnchanged();
    void foreignSqliteDatabaseRefusedUnchanged();
    void pipeOrDeviceRefused();
    void newerSchemaRefused();
    void readOnlyModeMissingFileNotCreated();
    void readOnlyDatabaseFile();
    void readOnlyFolderStillReads();
    void lockedDatabase();
};

void TestRunStore::schemaCreatedOnNewFile() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("sub/dir/runs.db").toStdString(); // parent folders created too
        QVERIFY(!QFile::exists(QString::fromStdString(path)));
        RunStore store(path);
        QVERIFY(QFile::exists(QString::fromStdString(path)));
        QCOMPARE(store.schemaVersion(), RunStore::kSchemaVersion);
        QVERIFY(store.integrityOk());
        QCOMPARE(store.path(), path);
        QVERIFY(store.listRuns().empty());

        RawDb raw(path);
        QCOMPARE(raw.scalar("PRAGMA user_version"), int64_t(RunStore::kSchemaVersion));
        QCOMPARE(raw.text("PRAGMA journal_mode"), std::string("wal"));
        for (const char* table : {"runs", "run_tags", "metrics", "masks", "weight_stats", "timings", "checkpoints"})
            QVERIFY2(raw.scalar(std::string("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='") + table +
                                "'") == 1,
                     table);
    });
}

void TestRunStore::reopenKeepsData() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        const int64_t id = storeRun(path, newRun("kept"), {{1, "train_loss", 2.5}});
        RunStore again(path);
        QCOMPARE(again.schemaVersion(), RunStore::kSchemaVersion);
        QCOMPARE(again.run(id).name, std::string("kept"));
        QCOMPARE(again.metrics(id).size(), size_t(1));
        RunStore reader(path, RunStore::Mode::ReadOnly);
        QCOMPARE(reader.listRuns().size(), size_t(1));
        QVERIFY(reader.integrityOk());
    });
}

void TestRunStore::runRoundTrip() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const NewRun nr = newRun("roundtrip", "rigl", 0.8);
        // The store's own clock: Qt 6.8's currentMSecsSinceEpoch rounds to the nearest millisecond where
        // the store truncates, so it could read a millisecond later than the run's stamp (seen on Debian 13).
        const int64_t before = nowMs();
        const int64_t id = store.createRun(nr);
        const int64_t after = nowMs();
        QVERIFY(id > 0);

        RunInfo r = store.run(id);
        QCOMPARE(r.id, id);
        QCOMPARE(r.name, nr.name);
        QVERIFY2(
            r.createdAt >= before && r.createdAt <= after,
            (std::to_string(r.createdAt) + " not in [" + std::to_string(before) + ", " + std::to_string(after) + "]")
                .c_str());
        QCOMPARE(r.finishedAt, int64_t(0));
        QVERIFY(r.status == RunStatus::Running);
        QVERIFY(r.tags.empty());
        QCOMPARE(r.notes, std::string());
        QCOMPARE(r.config, nr.config);
        QCOMPARE(r.engineVersion, nr.engineVersion);
        QVERIFY(!r.host.empty()); // this host when NewRun does not say
        QCOMPARE(r.device, nr.device);
        QCOMPARE(r.blas, nr.blas);
        QCOMPARE(r.threads, nr.threads);
        QCOMPARE(r.method, nr.method);
        QCOMPARE(r.model, nr.model);
        QCOMPARE(r.dataset, nr.dataset);
        QCOMPARE(r.sparsity, nr.sparsity);
        QCOMPARE(r.steps, int64_t(0));
        QCOMPARE(r.testAccuracy, -1.0);
        QCOMPARE(r.pid, int64_t(getpid()));

        store.finishRun(id, RunStatus::Finished, 640, 0.9375);
        r = store.run(id);
        QVERIFY(r.status == RunStatus::Finished);
        QCOMPARE(r.steps, int64_t(640));
        QCOMPARE(r.testAccuracy, 0.9375);
        QVERIFY(r.finishedAt >= r.createdAt);

        for (RunStatus s : {RunStatus::Failed, RunStatus::Stopped, RunStatus::Interrupted, RunStatus::Finished}) {
            store.finishRun(id, s, 7, 0.5);
            QVERIFY(store.run(id).status == s);
            QVERIFY(parseRunStatus(toString(s)) == s);
        }
        QVERIFY(isStoreError(storeErrorOf([] { parseRunStatus("bogus"); })));

        // A second run gets its own id; the first is unchanged.
        const int64_t id2 = store.createRun(newRun("second"));
        QVERIFY(id2 != id);
        QCOMPARE(store.run(id).name, std::string("roundtrip"));
        QCOMPARE(store.listRuns().size(), size_t(2));
    });
}

void TestRunStore::updateProgressOnlyGrows() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const int64_t id = store.createRun(newRun("progress"));
        const int64_t other = store.createRun(newRun("other"));
        store.updateProgress(id, 40);
        QCOMPARE(store.run(id).steps, int64_t(40));
        store.updateProgress(id, 30); // a late or repeated batch never moves it back
        QCOMPARE(store.run(id).steps, int64_t(40));
        store.updateProgress(id, 41);
        QCOMPARE(store.run(id).steps, int64_t(41));
        QVERIFY(store.run(id).status == RunStatus::Running);
        QCOMPARE(store.run(other).steps, int64_t(0));
        store.finishRun(id, RunStatus::Finished, 64, 0.5);
        QCOMPARE(store.run(id).steps, int64_t(64));
    });
}

void TestRunStore::tagsAndNotes() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const int64_t a = store.createRun(newRun("a"));
        const int64_t b = store.createRun(newRun("b"));
        store.addTag(a, "zeta");
        store.addTag(a, "alpha");
        store.addTag(a, "alpha"); // twice: stored once
        QVERIFY(isStoreError(storeErrorOf([&] { store.addTag(a, ""); }))); // an empty tag: refused
        QVERIFY(isStoreError(storeErrorOf([&] { store.setTags(b, {"beta", ""}); })));
        // Control characters would make `runs list` drive the terminal: refused in tags and names.
        QVERIFY(isStoreError(storeErrorOf([&] { store.addTag(a, "bad\x1b[2Jtag"); })));
        QVERIFY(isStoreError(storeErrorOf([&] { store.setTags(b, {"two\nlines"}); })));
        QVERIFY(isStoreError(storeErrorOf([&] { store.createRun(newRun("name\rover")); })));
        QVERIFY(isStoreError(storeErrorOf([&] { store.createRun(newRun("del\x7f")); })));
        QCOMPARE(store.listRuns().size(), size_t(2)); // nothing was stored
        store.addTag(b, "beta");
        store.setNotes(a, "first note");
        store.setNotes(a, "replaced note, with 'quotes' and \"double\"; DROP TABLE runs;");
        RunInfo r = store.run(a);
        QCOMPARE(r.tags, (std::vector<std::string>{"alpha", "zeta"}));
        QCOMPARE(r.notes, std::string("replaced note, with 'quotes' and \"double\"; DROP TABLE runs;"));
        QCOMPARE(store.run(b).tags, std::vector<std::string>{"beta"});
        QCOMPARE(store.run(b).notes, std::string());
        const auto runs = store.listRuns();
        QCOMPARE(runs.size(), size_t(2));
        QCOMPARE(runs[0].tags, (std::vector<std::string>{"alpha", "zeta"}));
        QCOMPARE(runs[1].tags, std::vector<std::string>{"beta"});
        QCOMPARE(runs[0].notes, r.notes);
        // setTags replaces the whole set, and leaves other runs' tags alone.
        store.setTags(a, {"gamma", "alpha"});
        QCOMPARE(store.run(a).tags, (std::vector<std::string>{"alpha", "gamma"}));
        store.setTags(a, {});
        QVERIFY(store.run(a).tags.empty());
        QCOMPARE(store.run(b).tags, std::vector<std::string>{"beta"});
        QVERIFY_EXCEPTION_THROWN(store.setTags(999, {"x"}), StoreError);
    });
}

void TestRunStore::listRunsFilters() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const int64_t a = store.createRun(newRun("alpha-run", "srigl"));
        const int64_t b = store.createRun(newRun("beta-run", "rigl"));
        const int64_t c = store.createRun(newRun("gamma-run", "srigl"));
        const int64_t d = store.createRun(newRun("delta-run", "set"));
        store.finishRun(a, RunStatus::Finished, 10, 0.5);
        store.finishRun(b, RunStatus::Failed, 3, -1);
        store.finishRun(d, RunStatus::Finished, 10, 0.6);
        store.addTag(a, "baseline");
        store.addTag(c, "baseline");
        store.addTag(c, "other");
        store.setNotes(d, "note with needle inside");

        using V = std::vector<int64_t>;
        QCOMPARE(ids(store.listRuns()), (V{a, b, c, d}));
        RunFilter f;
        f.status = "finished";
        QCOMPARE(ids(store.listRuns(f)), (V{a, d}));
        f = {};
        f.status = "running";
        QCOMPARE(ids(store.listRuns(f)), (V{c}));
        f = {};
        f.method = "srigl";
        QCOMPARE(ids(store.listRuns(f)), (V{a, c}));
        f = {};
        f.tag = "baseline";
        QCOMPARE(ids(store.listRuns(f)), (V{a, c}));
        QCOMPARE(store.listRuns(f)[1].tags, (std::vector<std::string>{"baseline", "other"}));
        f = {};
        f.tag = "nope";
        QVERIFY(store.listRuns(f).empty());
        f = {};
        f.text = "beta"; // name
        QCOMPARE(ids(store.listRuns(f)), (V{b}));
        f.text = "needle"; // notes
        QCOMPARE(ids(store.listRuns(f)), (V{d}));
        f.text = "cfg-gamma"; // config
        QCOMPARE(ids(store.listRuns(f)), (V{c}));
        f.text = "%"; // no LIKE wildcards
        QVERIFY(store.listRuns(f).empty());
        f = {};
        f.method = "srigl";
        f.status = "finished";
        f.tag = "baseline";
        QCOMPARE(ids(store.listRuns(f)), (V{a}));
        f.text = "gamma";
        QVERIFY(store.listRuns(f).empty());
    });
}

void TestRunStore::metricsRoundTrip() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const int64_t a = store.createRun(newRun("a"));
        const int64_t b = store.createRun(newRun("b"));
        std::vector<Metric> in;
        for (int64_t s = 10; s >= 1; --s) {
            in.push_back({s, "train_loss", 1.0 / static_cast<double>(s) + 1e-17});
            in.push_back({s, "lr", 0.1 * static_cast<double>(s)});
        }
        in.push_back({0, "tiny", 4.9406564584124654e-324});
        in.push_back({0, "huge", 1.7976931348623157e308});
        in.push_back({0, "neg", -123.456});
        store.addMetrics(a, in);
        store.addMetrics(a, {});
        store.addMetrics(b, {{5, "train_loss", 42.0}});

        auto got = store.metrics(a);
        QCOMPARE(got.size(), in.size());
        // Ordered by key, then step; values bit-exact.
        auto want = in;
        std::stable_sort(want.begin(), want.end(),
                         [](const Metric& x, const Metric& y) { return std::tie(x.key, x.step) < std::tie(y.key, y.step); });
        for (size_t i = 0; i < want.size(); ++i) {
            QCOMPARE(got[i].key, want[i].key);
            QCOMPARE(got[i].step, want[i].step);
            QVERIFY2(std::memcmp(&got[i].value, &want[i].value, sizeof(double)) == 0, want[i].key.c_str());
        }
        const auto gotB = store.metrics(b);
        QCOMPARE(gotB.size(), size_t(1));
        QCOMPARE(gotB[0].value, 42.0);
    });
}

void TestRunStore::metricsNonFiniteValues() {
    guarded([&] {
        // A diverged run reports inf or nan losses; one such value must not cost the rest of its batch.
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const int64_t id = store.createRun(newRun("diverged"));
        const double inf = std::numeric_limits<double>::infinity();
        const auto err = storeErrorOf([&] {
            store.addMetrics(id, {{1, "train_loss", 2.0},
                                  {2, "train_loss", inf},
                                  {3, "train_loss", -inf},
                                  {4, "test_loss", std::numeric_limits<double>::quiet_NaN()},
                                  {4, "test_accuracy", 0.1}});
        });
        QVERIFY2(!err, err ? err->c_str() : "");
        const auto got = store.metrics(id);
        QCOMPARE(got.size(), size_t(5));
        QCOMPARE(got[0].key, std::string("test_accuracy"));
        QVERIFY(std::isnan(got[1].value));
        QCOMPARE(got[2].value, 2.0);
        QCOMPARE(got[3].value, inf);
        QCOMPARE(got[4].value, -inf);
    });
}

void TestRunStore::maskCodecRoundTrip() {
    guarded([&] {
        std::mt19937 gen(7);
        for (size_t n : {size_t(0), size_t(1), size_t(7), size_t(246), size_t(29400)}) {
            std::vector<uint8_t> raw(n);
            for (auto& b : raw) b = static_cast<uint8_t>(gen());
            const auto packed = compressBytes(raw);
            QVERIFY(decompressBytes(packed, n) == raw);
            if (n > 0) {
                QVERIFY(isStoreError(storeErrorOf([&] { decompressBytes(packed, n + 1); })));
                QVERIFY(isStoreError(storeErrorOf([&] { decompressBytes(packed, n - 1); })));
            }
        }
        QVERIFY(isStoreError(storeErrorOf([] { decompressBytes({1, 2, 3, 4, 5}, 10); })));
        const std::vector<int64_t> idList{0, 1, 36, 255, 256, int64_t(1) << 40, std::numeric_limits<int64_t>::max(), -1,
                                          std::numeric_limits<int64_t>::min()};
        QCOMPARE(encodeIds(idList).size(), idList.size() * 8);
        QVERIFY(decodeIds(encodeIds(idList)) == idList);
        QVERIFY(decodeIds({}).empty());
        QVERIFY(isStoreError(storeErrorOf([] { decodeIds({1, 2, 3}); })));
    });
}

void TestRunStore::masksRoundTripBitExact() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        std::vector<MaskRecord> in;
        const std::vector<int64_t> bigIds{0, 5, 36, int64_t(1) << 33, std::numeric_limits<int64_t>::max()};
        in.push_back(record(0, randomSnapshot("fc1", 37, 53, 1, bigIds), 5, 0, 0));
        in.push_back(record(0, randomSnapshot("fc2", 3, 5, 2), 2, 0, 0));
        in.push_back(record(0, randomSnapshot("one", 1, 1, 3, {0}), 1, 0, 0));
        in.push_back(record(0, randomSnapshot("wide", 300, 784, 4, {1, 299}), 78, 0, 0));
        in.push_back(record(4, randomSnapshot("fc1", 37, 53, 5, {2}), 5, 17, 17));
        in.push_back(record(4, randomSnapshot("fc2", 3, 5, 6), 2, 1, 1));
        QCOMPARE(in[0].mask.bits.size(), size_t((37 * 53 + 7) / 8));
        QCOMPARE(in[1].mask.bits.size(), size_t(2));
        int64_t id = 0;
        {
            RunStore store(path);
            id = store.createRun(newRun("masks"));
            store.addMasks(id, in);
            store.addMasks(id, {});
        }
        RunStore store(path, RunStore::Mode::ReadOnly); // read back through a fresh connection
        const auto got = store.masks(id);
        QCOMPARE(got.size(), in.size());
        for (size_t i = 0; i < in.size(); ++i) compareRecords(got[i], in[i]);
    });
}

void TestRunStore::masksFilterByLayer() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const int64_t a = store.createRun(newRun("a"));
        const int64_t b = store.createRun(newRun("b"));
        const std::vector<MaskRecord> in = snapshotsAtSteps048({"fc1", "fc2", "fc3"}, 11, 13);
        store.addMasks(a, in);
        store.addMasks(b, {record(0, randomSnapshot("fc2", 2, 2, 99), 1, 0, 0)});

        const auto fc2 = store.masks(a, "fc2");
        QCOMPARE(fc2.size(), size_t(3));
        for (size_t i = 0; i < fc2.size(); ++i) {
            QCOMPARE(fc2[i].mask.name, std::string("fc2"));
            compareRecords(fc2[i], in[i * 3 + 1]);
        }
        QCOMPARE(store.masks(a).size(), size_t(9));
        QVERIFY(store.masks(a, "nope").empty());
        QCOMPARE(store.masks(b).size(), size_t(1));
        QCOMPARE(store.masks(b, "fc2")[0].mask.outFeatures, int64_t(2));

        // The same layer and step again replaces the snapshot.
        auto again = record(4, randomSnapshot("fc2", 11, 13, 12345), 3, 9, 9);
        store.addMasks(a, {again});
        const auto replaced = store.masks(a, "fc2");
        QCOMPARE(replaced.size(), size_t(3));
        compareRecords(replaced[1], again);
    });
}

void TestRunStore::boundedMaskReadsForViewers() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const TwoRunsWithSnapshots runs = twoRunsWithSnapshots(store);
        const int64_t a = runs.a, b = runs.b;
        const std::vector<MaskRecord>& in = runs.in;

        QCOMPARE(store.maskSteps(a), (std::vector<int64_t>{0, 4, 8}));
        QCOMPARE(store.maskLayers(a), (std::vector<std::string>{"fc2", "fc1"}));
        QVERIFY(store.maskSteps(12345).empty());

        // Step 7 lies between updates: the snapshot at 4, then the one at 0, newest first.
        const auto at7 = store.masksAtOrBefore(a, "fc1", 7, 2);
        QCOMPARE(at7.size(), size_t(2));
        compareRecords(at7[0], in[3]);
        compareRecords(at7[1], in[1]);
        QCOMPARE(store.masksAtOrBefore(a, "fc1", 8, 1).size(), size_t(1));
        compareRecords(store.masksAtOrBefore(a, "fc1", 8, 1)[0], in[5]);
        QVERIFY(store.masksAtOrBefore(b, "fc9", 1, 2).empty()); // before its first snapshot
        QVERIFY(store.masksAtOrBefore(a, "fc9", 8, 2).empty()); // another run's layer

        store.addWeightValues(a, {{4, "fc1", {1.f, -2.f}}, {8, "fc1", {3.f}}, {4, "fc2", {5.f}}});
        const auto w = store.weightValues(a, "fc1", 4);
        QCOMPARE(w.size(), size_t(1));
        QCOMPARE(w[0].values, (std::vector<float>{1.f, -2.f}));
        QVERIFY(store.weightValues(a, "fc1", 0).empty());
        QCOMPARE(store.weightValues(a, "fc1").size(), size_t(2)); // no step: every step
    });
}

void TestRunStore::maskStatsReadNoBlobs() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const TwoRunsWithSnapshots runs = twoRunsWithSnapshots(store);
        const int64_t a = runs.a, b = runs.b;
        const std::vector<MaskRecord>& in = runs.in;
        const int64_t none = store.createRun(newRun("no snapshots"));

        // Every snapshot of the run (and only of it), in the order masks() gives, with its statistics.
        const auto stats = store.maskStats(a);
        const auto masks = store.masks(a);
        QCOMPARE(stats.size(), in.size());
        for (size_t i = 0; i < stats.size(); ++i) {
            QCOMPARE(stats[i].step, masks[i].step);
            compareRecords(MaskRecord{stats[i].step, masks[i].mask, stats[i].stats}, masks[i]);
        }
        QVERIFY(store.maskStats(none).empty());
        QCOMPARE(store.maskStats(b).size(), size_t(1));
        QCOMPARE(store.maskStats(b)[0].stats.name, std::string("fc9"));
        QVERIFY(isStoreError(storeErrorOf([&] { store.maskStats(424242); })));

        // The blobs are not read: damaged ones fail masks() but not maskStats().
        RawDb(path).exec("UPDATE masks SET bits = x'00', ablated_ids = x'01'");
        QVERIFY(isStoreError(storeErrorOf([&] { store.masks(a); })));
        QCOMPARE(store.maskStats(a).size(), in.size());
    });
}

void TestRunStore::thresholdsRoundTripExactly() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        // trainable_threshold's per-neuron thresholds travel with the snapshot statistics; a layer
        // without them (another method, or a layer kept dense) reads back without them.
        MaskRecord thresholded = record(4, randomSnapshot("fc1", 5, 9, 21), 0, 3, 2);
        thresholded.stats.thresholds = {0.0f, -0.0f, 1.5e-3f, std::numeric_limits<float>::denorm_min(),
                                        std::numeric_limits<float>::quiet_NaN()};
        const MaskRecord plain = record(4, randomSnapshot("fc2", 3, 5, 22), 2, 1, 1);
        int64_t id = 0;
        {
            RunStore store(path);
            id = store.createRun(newRun("thresholds"));
            store.addMasks(id, {thresholded, plain});
        }
        {
            RunStore store(path, RunStore::Mode::ReadOnly);
            const auto masks = store.masks(id);
            QCOMPARE(masks.size(), size_t(2));
            compareRecords(masks[0], thresholded);
            compareRecords(masks[1], plain);
            const auto stats = store.maskStats(id);
            QCOMPARE(stats.size(), size_t(2));
            compareRecords(MaskRecord{stats[0].step, masks[0].mask, stats[0].stats}, thresholded);
            QVERIFY(stats[1].stats.thresholds.empty());
        }
        // A damaged blob is refused by name, whether its length is not whole floats or not one per neuron.
        for (const char* blob : {"x'000000'", "x'0000000000000000'"}) {
            RawDb(path).exec(std::string("UPDATE masks SET thresholds = ") + blob + " WHERE layer = 'fc1'");
            RunStore store(path, RunStore::Mode::ReadOnly);
            const auto error = storeErrorOf([&] { store.maskStats(id); });
            QVERIFY(isStoreError(error));
            QVERIFY2(error->find("corrupt") != std::string::npos, error->c_str());
            if (std::strlen(blob) > 10) QVERIFY2(error->find("fc1") != std::string::npos, error->c_str());
        }
    });
}

// A layer too large to snapshot whole is stored as every rowStride-th row: read back with its stride
// and the layer's own row count, and refused by name when the stride is damaged or does not fit.
void TestRunStore::sampledMasksRoundTrip() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        LayerMaskSnapshot sample = randomSnapshot("fc2", 7, 11, 41, {2, 6}); // rows 0, 9, ..., 54 of 60
        sample.rowStride = 9;
        sample.layerOutFeatures = 60;
        const MaskRecord sampled = record(4, sample, 3, 2, 2);
        const MaskRecord plain = record(4, randomSnapshot("fc1", 5, 9, 42), 3, 1, 1);
        int64_t id = 0;
        {
            RunStore store(path);
            id = store.createRun(newRun("sampled"));
            store.addMasks(id, {plain, sampled});
            // A sample that does not cover every stride-th row of its layer is refused, nothing stored.
            MaskRecord wrong = sampled;
            wrong.step = 8;
            wrong.mask.layerOutFeatures = 70;
            const auto error = storeErrorOf([&] { store.addMasks(id, {wrong}); });
            QVERIFY(isStoreError(error));
            QVERIFY2(error->find("fc2") != std::string::npos && error->find("every 9th") != std::string::npos,
                     error->c_str());
        }
        {
            RunStore store(path, RunStore::Mode::ReadOnly);
            const auto masks = store.masks(id);
            QCOMPARE(masks.size(), size_t(2));
            compareRecords(masks[0], plain);
            compareRecords(masks[1], sampled);
            QCOMPARE(masks[1].mask.outFeatures, int64_t(7));
            QCOMPARE(masks[1].mask.neuronOf(6), int64_t(54));
            QCOMPARE(masks[0].mask.rowStride, int64_t(1));
            const auto stats = store.maskStats(id);
            QCOMPARE(stats.size(), size_t(2));
            QCOMPARE(stats[1].rowStride, int64_t(9));
            QCOMPARE(stats[1].stats.outFeatures, int64_t(60));
            QVERIFY(stats[1].hasMask);
            compareRecords(store.masksAtOrBefore(id, "fc2", 4, 1).at(0), sampled);
        }
        // A damaged stride (none, or more than the layer's rows) is refused by name.
        for (const char* stride : {"0", "61", "-3"}) {
            RawDb(path).exec(std::string("UPDATE masks SET row_stride = ") + stride + " WHERE layer = 'fc2'");
            RunStore store(path, RunStore::Mode::ReadOnly);
            for (const bool statsOnly : {true, false}) {
                const auto error = storeErrorOf([&] { statsOnly ? (void)store.maskStats(id) : (void)store.masks(id); });
                QVERIFY(isStoreError(error));
                QVERIFY2(error->find("corrupt") != std::string::npos && error->find("fc2") != std::string::npos,
                         error->c_str());
            }
        }
    });
}

void TestRunStore::lastCheckpointIsHighestStep() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const int64_t a = store.createRun(newRun("a"));
        const int64_t b = store.createRun(newRun("b"));
        QVERIFY(!store.lastCheckpoint(a));
        store.addCheckpoint(a, 40, "/ckpt/a-40");
        store.addCheckpoint(a, 120, "/ckpt/a-120");
        store.addCheckpoint(a, 80, "/ckpt/a-80");
        store.addCheckpoint(b, 500, "/ckpt/b-500");
        auto last = store.lastCheckpoint(a);
        QVERIFY(last);
        QCOMPARE(last->first, int64_t(120));
        QCOMPARE(last->second, std::string("/ckpt/a-120"));
        store.addCheckpoint(a, 120, "/ckpt/a-120-again"); // same step: replaced
        QCOMPARE(store.lastCheckpoint(a)->second, std::string("/ckpt/a-120-again"));
        QCOMPARE(store.lastCheckpoint(b)->first, int64_t(500));
    });
}

void TestRunStore::deleteRunCascades() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t a = store.createRun(newRun("doomed"));
        const int64_t b = store.createRun(newRun("kept"));
        for (int64_t id : {a, b}) {
            store.addMetrics(id, {{1, "train_loss", 1.0}, {2, "train_loss", 0.5}});
            store.addMasks(id, {record(0, randomSnapshot("fc1", 4, 4, 1), 2, 0, 0)});
            store.addCheckpoint(id, 2, "/c");
            store.addTag(id, "t");
            store.finishRun(id, RunStatus::Finished, 2, -1); // a live run cannot be deleted
        }
        store.deleteRun(a);
        QVERIFY(isStoreError(storeErrorOf([&] { store.run(a); })));

        RunStore other(path, RunStore::Mode::ReadOnly);
        const auto msg = storeErrorOf([&] { other.run(a); });
        QVERIFY(isStoreError(msg));
        QCOMPARE(ids(other.listRuns()), std::vector<int64_t>{b});
        QCOMPARE(other.metrics(b).size(), size_t(2));
        QCOMPARE(other.masks(b).size(), size_t(1));
        QVERIFY(!other.lastCheckpoint(a));

        RawDb raw(path);
        const std::string ida = std::to_string(a);
        for (const char* table : {"metrics", "masks", "checkpoints", "run_tags"})
            QVERIFY2(raw.scalar(std::string("SELECT count(*) FROM ") + table + " WHERE run_id=" + ida) == 0, table);
        QCOMPARE(raw.scalar("SELECT count(*) FROM metrics"), int64_t(2));
        QCOMPARE(raw.scalar("SELECT count(*) FROM run_tags"), int64_t(1));
        QVERIFY(isStoreError(storeErrorOf([&] { store.deleteRun(a); })));
    });
}

void TestRunStore::reopenRunDropsLaterRecords() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(newRun("resumed"));
        const int64_t other = store.createRun(newRun("other"));
        std::vector<Metric> ms;
        for (int64_t s = 1; s <= 10; ++s) ms.push_back({s, "train_loss", static_cast<double>(s)});
        store.addMetrics(id, ms);
        store.addMetrics(other, ms);
        for (int64_t s : {0, 4, 8}) store.addMasks(id, {record(s, randomSnapshot("fc1", 5, 5, uint32_t(s)), 2, s, s)});
        store.addCheckpoint(id, 5, "/c5");
        store.finishRun(id, RunStatus::Interrupted, 0, -1);
        {
            RawDb raw(path);
            raw.exec("UPDATE runs SET pid=1, host='elsewhere' WHERE id=" + std::to_string(id));
        }

        store.reopenRun(id, 5);
        const RunInfo r = store.run(id);
        QVERIFY(r.status == RunStatus::Running);
        QCOMPARE(r.finishedAt, int64_t(0));
        QCOMPARE(r.pid, int64_t(getpid()));
        QVERIFY(r.host != "elsewhere");
        const auto left = store.metrics(id);
        QCOMPARE(left.size(), size_t(5));
        for (const auto& m : left) QVERIFY(m.step <= 5);
        const auto masks = store.masks(id);
        QCOMPARE(masks.size(), size_t(2));
        QCOMPARE(masks[0].step, int64_t(0));
        QCOMPARE(masks[1].step, int64_t(4));
        QCOMPARE(store.metrics(other).size(), size_t(10)); // other runs untouched
        QVERIFY(isStoreError(storeErrorOf([&] { store.reopenRun(9999, 0); })));
    });
}

void TestRunStore::unknownRunIdNamesId() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dbIn(dir));
        const int64_t real = store.createRun(newRun("real"));
        const int64_t missing = 424242;
        const std::vector<std::pair<const char*, std::function<void()>>> calls = {
            {"run", [&] { store.run(missing); }},
            {"finishRun", [&] { store.finishRun(missing, RunStatus::Finished, 1, 0.5); }},
            {"reopenRun", [&] { store.reopenRun(missing, 0); }},
            {"metrics", [&] { store.metrics(missing); }},
            {"masks", [&] { store.masks(missing); }},
            {"maskStats", [&] { store.maskStats(missing); }},
            {"addTag", [&] { store.addTag(missing, "x"); }},
            {"setNotes", [&] { store.setNotes(missing, "x"); }},
            {"deleteRun", [&] { store.deleteRun(missing); }},
        };
        for (const auto& [name, call] : calls) {
            const auto msg = storeErrorOf(call);
            QVERIFY2(isStoreError(msg), name);
            QVERIFY2(msg->find("424242") != std::string::npos, (std::string(name) + ": " + *msg).c_str());
        }
        // Records for a run that does not exist are refused too (foreign keys), not stored as orphans.
        QVERIFY(isStoreError(storeErrorOf([&] { store.addMetrics(missing, {{1, "x", 1.0}}); })));
        QVERIFY(isStoreError(storeErrorOf([&] { store.addMasks(missing, {record(0, randomSnapshot("a", 2, 2, 1), 1, 0, 0)}); })));
        QVERIFY(isStoreError(storeErrorOf([&] { store.addCheckpoint(missing, 1, "/c"); })));
        QVERIFY(!store.lastCheckpoint(missing));
        // Nothing of the real run changed.
        QCOMPARE(ids(store.listRuns()), std::vector<int64_t>{real});
        QVERIFY(store.run(real).status == RunStatus::Running);
        QVERIFY(store.metrics(real).empty());
    });
}

void TestRunStore::markInterruptedOnlyDeadWriters() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t alive = store.createRun(newRun("alive"));
        const int64_t dead = store.createRun(newRun("dead"));
        const int64_t remote = store.createRun(newRun("remote"));
        const int64_t done = store.createRun(newRun("done"));
        store.finishRun(done, RunStatus::Finished, 10, 0.5);

        const pid_t child = fork();
        QVERIFY(child >= 0);
        if (child == 0) _exit(0);
        int status = 0;
        QCOMPARE(waitpid(child, &status, 0), child);
        {
            RawDb raw(path);
            const std::string pid = std::to_string(child);
            raw.exec("UPDATE runs SET pid=" + pid + " WHERE id IN (" + std::to_string(dead) + "," + std::to_string(done) + ")");
            // A dead pid on another host cannot be checked from here: left running.
            raw.exec("UPDATE runs SET pid=" + pid + ", host='some-other-host' WHERE id=" + std::to_string(remote));
        }
        QCOMPARE(store.markInterrupted(), 1);
        QVERIFY(store.run(dead).status == RunStatus::Interrupted);
        QVERIFY(store.run(alive).status == RunStatus::Running);
        QCOMPARE(store.run(alive).pid, int64_t(getpid()));
        QVERIFY(store.run(remote).status == RunStatus::Running);
        QVERIFY(store.run(done).status == RunStatus::Finished);
        QCOMPARE(store.markInterrupted(), 0); // idempotent
        RunFilter f;
        f.status = "interrupted";
        QCOMPARE(ids(store.listRuns(f)), std::vector<int64_t>{dead});
    });
}

void TestRunStore::concurrentReaderWhileWriting() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        const int64_t id = storeRun(path, newRun("live"));
        constexpr int kBatches = 400, kPerBatch = 5, kRunsAdded = 8;
        std::atomic<bool> done{false};
        std::atomic<int> written{0};
        std::string writerError;
        std::thread writer([&] {
            try {
                RunStore w(path);
                for (int i = 0; i < kBatches; ++i) {
                    std::vector<Metric> batch;
                    for (int j = 0; j < kPerBatch; ++j) batch.push_back({i, "k" + std::to_string(j), i * 0.5 + j});
                    w.addMetrics(id, batch);
                    if (i % (kBatches / kRunsAdded) == 0) w.createRun(newRun("extra" + std::to_string(i)));
                    written = i + 1;
                }
            } catch (const std::exception& e) {
                writerError = e.what();
            }
            done = true;
        });

        std::string readerError;
        int reads = 0, readsWhileWriting = 0;
        size_t lastMetrics = 0, lastRuns = 0;
        try {
            while (written.load() == 0 && !done.load()) std::this_thread::yield();
            RunStore reader(path, RunStore::Mode::ReadOnly);
            for (;;) {
                const bool finished = done.load();
                const auto runs = reader.listRuns();
                const auto metrics = reader.metrics(id);
                if (runs.size() < lastRuns || metrics.size() < lastMetrics) {
                    readerError = "counts shrank: runs " + std::to_string(lastRuns) + " -> " + std::to_string(runs.size()) +
                                  ", metrics " + std::to_string(lastMetrics) + " -> " + std::to_string(metrics.size());
                    break;
                }
                if (metrics.size() % kPerBatch != 0) { // each batch is one transaction: never seen half
                    readerError = "saw part of a transaction: " + std::to_string(metrics.size()) + " metrics";
                    break;
                }
                lastRuns = runs.size();
                lastMetrics = metrics.size();
                ++reads;
                if (!finished) ++readsWhileWriting;
                if (finished) break;
            }
        } catch (const std::exception& e) {
            readerError = e.what();
        }
        writer.join();
        QVERIFY2(writerError.empty(), writerError.c_str());
        QVERIFY2(readerError.empty(), readerError.c_str());
        QVERIFY(readsWhileWriting > 0);
        QCOMPARE(lastMetrics, size_t(kBatches * kPerBatch));
        QCOMPARE(lastRuns, size_t(1 + kRunsAdded));
        RunStore check(path);
        QVERIFY(check.integrityOk());
        qInfo("%d reads, %d while the writer wrote", reads, readsWhileWriting);
    });
}

void TestRunStore::concurrentCreationOfNewFile() {
    // Two processes (here: threads with their own connections) recording into a database that does
    // not exist yet, e.g. two `srigl train` started at once: both open it, the schema is made once.
    guarded([&] {
        QTemporaryDir dir;
        constexpr int kThreads = 4, kRounds = 10;
        for (int round = 0; round < kRounds; ++round) {
            const std::string path = dbIn(dir, ("race" + std::to_string(round) + ".db").c_str());
            std::atomic<int> ready{0};
            std::vector<std::string> errors(kThreads);
            std::vector<std::thread> threads;
            for (int i = 0; i < kThreads; ++i)
                threads.emplace_back([&, i] {
                    ++ready;
                    while (ready.load() < kThreads) std::this_thread::yield();
                    try {
                        RunStore store(path);
                        store.createRun(newRun("t" + std::to_string(i)));
                    } catch (const std::exception& e) {
                        errors[static_cast<size_t>(i)] = e.what();
                    }
                });
            for (auto& th : threads) th.join();
            for (const auto& e : errors) QVERIFY2(e.empty(), qPrintable(QString("round %1: %2").arg(round).arg(e.c_str())));
            RunStore check(path);
            QCOMPARE(check.listRuns().size(), size_t(kThreads));
            QCOMPARE(check.schemaVersion(), RunStore::kSchemaVersion);
        }
    });
}

void TestRunStore::recorderEndToEnd() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(newRun("recorded"));
        const std::vector<LayerMaskSnapshot> snaps{randomSnapshot("fc1", 37, 53, 11, {3, 36}),
                                                   randomSnapshot("fc2", 3, 5, 12)};
        int maskCalls = 0;
        CountingObserver next;
        Recorder rec(path, id, [&] { ++maskCalls; return snaps; }, &next);

        std::vector<LayerUpdateStats> startStats{statsFor(snaps[0], 5, 0, 0), statsFor(snaps[1], 2, 0, 0)};
        rec.onStart(startStats, 8);
        for (int64_t s = 1; s <= 8; ++s) {
            StepMetrics m;
            m.step = s;
            m.totalSteps = 8;
            m.loss = 2.0 / static_cast<double>(s);
            m.accuracy = 0.1 * static_cast<double>(s);
            m.lr = 0.05;
            m.samplesPerSecond = 1000.0 + static_cast<double>(s);
            rec.onStep(m);
            if (s == 4) {
                MaskUpdateEvent e;
                e.step = 4;
                e.dropFraction = 0.3;
                e.seconds = 0.01;
                e.layers = {statsFor(snaps[0], 5, 17, 17), statsFor(snaps[1], 2, 1, 1)};
                rec.onMaskUpdate(e);
            }
        }
        EvalMetrics ev;
        ev.step = 8;
        ev.testLoss = 0.7;
        ev.testAccuracy = 0.8;
        rec.onEvaluation(ev);
        rec.onCheckpoint(8, "/tmp/ckpt-8");
        TrainingSummary sum;
        sum.steps = 8;
        rec.onFinished(sum);
        const std::string error = rec.close();
        QVERIFY2(error.empty(), error.c_str());
        QVERIFY(rec.close().empty()); // twice is harmless

        QCOMPARE(maskCalls, 2);
        QCOMPARE(next.starts, 1);
        QCOMPARE(next.steps, 8);
        QCOMPARE(next.updates, 1);
        QCOMPARE(next.evals, 1);
        QCOMPARE(next.checkpoints, 1);
        QCOMPARE(next.finished, 1);

        RunStore reader(path, RunStore::Mode::ReadOnly);
        const auto metrics = reader.metrics(id);
        QCOMPARE(metrics.size(), size_t(8 * 4 + 2 + 2));
        auto valueOf = [&](const std::string& key, int64_t step) {
            for (const auto& m : metrics)
                if (m.key == key && m.step == step) return m.value;
            return std::numeric_limits<double>::quiet_NaN();
        };
        QCOMPARE(valueOf("train_loss", 4), 0.5);
        QCOMPARE(valueOf("train_accuracy", 8), 0.8);
        QCOMPARE(valueOf("lr", 1), 0.05);
        QCOMPARE(valueOf("samples_per_second", 3), 1003.0);
        QCOMPARE(valueOf("drop_fraction", 4), 0.3);
        QCOMPARE(valueOf("mask_update_seconds", 4), 0.01);
        QCOMPARE(valueOf("test_loss", 8), 0.7);
        QCOMPARE(valueOf("test_accuracy", 8), 0.8);

        const auto masks = reader.masks(id);
        QCOMPARE(masks.size(), size_t(4));
        compareRecords(masks[0], record(0, snaps[0], 5, 0, 0));
        compareRecords(masks[1], record(0, snaps[1], 2, 0, 0));
        compareRecords(masks[2], record(4, snaps[0], 5, 17, 17));
        compareRecords(masks[3], record(4, snaps[1], 2, 1, 1));

        const auto last = reader.lastCheckpoint(id);
        QVERIFY(last);
        QCOMPARE(last->first, int64_t(8));
        QCOMPARE(last->second, std::string("/tmp/ckpt-8"));
        // The recorder records; finishing the run is the caller's.
        QVERIFY(reader.run(id).status == RunStatus::Running);
    });
}

void TestRunStore::recorderKeepsStaticLayersStepZeroSnapshot() {
    guarded([&] {
        // recorder.cpp: "Layers without a dynamic mask are not in the event; they keep their step-0
        // snapshot." The trainer's maskSnapshot() lists every layer, its update event only dynamic ones.
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(newRun("static-layer"));
        const std::vector<LayerMaskSnapshot> snaps{randomSnapshot("fc1", 9, 7, 21), randomSnapshot("out", 3, 4, 22)};
        {
            Recorder rec(path, id, [&] { return snaps; });
            rec.onStart({statsFor(snaps[0], 3, 0, 0), statsFor(snaps[1], 4, 0, 0)}, 8);
            MaskUpdateEvent e;
            e.step = 4;
            e.layers = {statsFor(snaps[0], 3, 2, 2)}; // "out" is not dynamic
            rec.onMaskUpdate(e);
            const std::string error = rec.close();
            QVERIFY2(error.empty(), error.c_str());
        }
        const auto fc1 = store.masks(id, "fc1");
        QCOMPARE(fc1.size(), size_t(2));
        compareRecords(fc1[1], record(4, snaps[0], 3, 2, 2));
        const auto out = store.masks(id, "out");
        for (const auto& m : out)
            QVERIFY2(m.step == 0, qPrintable(QString("layer 'out' has a record at step %1 with k %2, sparsity %3")
                                                  .arg(m.step)
                                                  .arg(m.stats.k)
                                                  .arg(m.stats.sparsity)));
        QCOMPARE(out.size(), size_t(1));
        compareRecords(out[0], record(0, snaps[1], 4, 0, 0));
    });
}

// A layer the mask source leaves out (a condensed layer too large to snapshot) keeps its statistics:
// maskStats lists them, marked without a mask, while the snapshot reads skip the layer.
void TestRunStore::recorderKeepsStatisticsOfLayersWithoutSnapshots() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(newRun("huge-layer"));
        const LayerMaskSnapshot fc1 = randomSnapshot("fc1", 9, 7, 31), out = randomSnapshot("out", 3, 9, 32);
        const LayerMaskSnapshot huge = randomSnapshot("huge", 9, 9, 33); // its statistics only
        {
            Recorder rec(path, id, [&] { return std::vector<LayerMaskSnapshot>{fc1, out}; });
            rec.onStart({statsFor(fc1, 3, 0, 0), statsFor(huge, 2, 0, 0), statsFor(out, 4, 0, 0)}, 8);
            MaskUpdateEvent e;
            e.step = 4;
            e.layers = {statsFor(fc1, 3, 2, 2), statsFor(huge, 2, 5, 5)};
            rec.onMaskUpdate(e);
            const std::string error = rec.close();
            QVERIFY2(error.empty(), error.c_str());
        }
        const auto stats = store.maskStats(id);
        std::vector<std::string> order;
        for (const auto& s : stats) order.push_back(std::to_string(s.step) + ":" + s.stats.name + (s.hasMask ? "" : "-"));
        // The event's order within a step, the statistics-only records marked.
        QCOMPARE(order, (std::vector<std::string>{"0:fc1", "0:huge-", "0:out", "4:fc1", "4:huge-"}));
        QCOMPARE(stats[4].stats.pruned, int64_t(5));
        QCOMPARE(stats[4].stats.k, int64_t(2));
        QCOMPARE(stats[4].stats.outFeatures, int64_t(9));
        QCOMPARE(stats[4].stats.fanIn, int64_t(9));
        // The snapshot reads never see it.
        QVERIFY(store.masks(id, "huge").empty());
        QCOMPARE(store.masks(id).size(), size_t(3));
        QVERIFY(store.masksAtOrBefore(id, "huge", 8, 2).empty());
        QCOMPARE(store.maskLayers(id), (std::vector<std::string>{"fc1", "out"}));
        QCOMPARE(store.maskSteps(id), (std::vector<int64_t>{0, 4}));
        compareRecords(store.masksAtOrBefore(id, "fc1", 8, 1).at(0), record(4, fc1, 3, 2, 2));
    });
}

void TestRunStore::recorderReportsWriteError() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir, "not-a-db.txt");
        const QByteArray text("these are my notes, not a database\n");
        writeFile(path, text);
        {
            Recorder rec(path, 1, nullptr);
            StepMetrics m;
            m.step = 1;
            rec.onStep(m);
            const std::string err = rec.close();
            QVERIFY(!err.empty());
            QVERIFY2(err.find(path) != std::string::npos, err.c_str());
        }
        QCOMPARE(fileBytes(path), text);

        // A run id that does not exist: the write fails and close() says so.
        const std::string db = dbIn(dir);
        { RunStore store(db); }
        Recorder rec(db, 777, nullptr);
        StepMetrics m;
        m.step = 1;
        rec.onStep(m);
        QVERIFY(!rec.close().empty());
    });
}

void TestRunStore::notADatabaseRefusedUnchanged() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir, "notes.db");
        QByteArray text;
        for (int i = 0; i < 200; ++i) text += "line " + QByteArray::number(i) + ": this is plain text, not SQLite\n";
        writeFile(path, text);
        for (auto mode : {RunStore::Mode::ReadWrite, RunStore::Mode::ReadOnly}) {
            const auto msg = storeErrorOf([&] { RunStore store(path, mode); });
            QVERIFY(isStoreError(msg));
            QVERIFY2(msg->find(path) != std::string::npos, msg->c_str());
            QCOMPARE(fileBytes(path), text);
        }
        QVERIFY(!QFile::exists(QString::fromStdString(path + "-wal")));
        QVERIFY(!QFile::exists(QString::fromStdString(path + "-journal")));
    });
}

// A pipe or a device is no database: refused by name, in every mode, and SQLite never gets to
// create a journal beside it (as root, `--db /dev/null` used to leave /dev/null-journal behind).
void TestRunStore::pipeOrDeviceRefused() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir, "pipe.db");
        QCOMPARE(::mkfifo(path.c_str(), 0600), 0);
        for (auto mode : {RunStore::Mode::ReadWrite, RunStore::Mode::ReadOnly}) {
            const auto msg = storeErrorOf([&] { RunStore store(path, mode); });
            QVERIFY(isStoreError(msg));
            QVERIFY2(msg->find(path) != std::string::npos && msg->find("regular file") != std::string::npos, msg->c_str());
        }
        QVERIFY(!QFile::exists(QString::fromStdString(path + "-journal")));
        QVERIFY(!QFile::exists(QString::fromStdString(path + "-wal")));
        const auto msg = storeErrorOf([&] { RunStore store("/dev/null", RunStore::Mode::ReadOnly); });
        QVERIFY2(isStoreError(msg) && msg->find("regular file") != std::string::npos, msg ? msg->c_str() : "accepted");
    });
}

void TestRunStore::foreignSqliteDatabaseRefusedUnchanged() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir, "other-app.sqlite");
        {
            RawDb raw(path);
            raw.exec("CREATE TABLE contacts(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO contacts(name) VALUES('ada')");
        }
        const QByteArray before = fileBytes(path);
        QVERIFY(!before.isEmpty());
        for (auto mode : {RunStore::Mode::ReadWrite, RunStore::Mode::ReadOnly}) {
            const auto msg = storeErrorOf([&] { RunStore store(path, mode); });
            QVERIFY(isStoreError(msg));
            QVERIFY2(msg->find("not a SRigL Studio") != std::string::npos, msg->c_str());
            QCOMPARE(fileBytes(path), before);
        }
        RawDb raw(path);
        QCOMPARE(raw.text("PRAGMA journal_mode"), std::string("delete")); // not switched to WAL
        QCOMPARE(raw.scalar("SELECT count(*) FROM sqlite_master"), int64_t(1));
    });
}

void TestRunStore::newerSchemaRefused() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        storeRun(path, newRun("from the future"));
        {
            RawDb raw(path);
            raw.exec("PRAGMA user_version = 99");
        }
        const QByteArray before = fileBytes(path);
        for (auto mode : {RunStore::Mode::ReadWrite, RunStore::Mode::ReadOnly}) {
            const auto msg = storeErrorOf([&] { RunStore store(path, mode); });
            QVERIFY(isStoreError(msg));
            QVERIFY2(msg->find("newer") != std::string::npos, msg->c_str());
            QVERIFY2(msg->find("99") != std::string::npos, msg->c_str());
        }
        QCOMPARE(fileBytes(path), before);
        RawDb raw(path);
        QCOMPARE(raw.scalar("PRAGMA user_version"), int64_t(99));
        QCOMPARE(raw.scalar("SELECT count(*) FROM runs"), int64_t(1));

        // A bare database that only says version 99.
        const std::string bare = dbIn(dir, "bare.db");
        {
            RawDb b(bare);
            b.exec("PRAGMA user_version = 99");
        }
        const auto msg = storeErrorOf([&] { RunStore store(bare); });
        QVERIFY(isStoreError(msg));
        QVERIFY2(msg->find("newer") != std::string::npos, msg->c_str());
    });
}

void TestRunStore::readOnlyModeMissingFileNotCreated() {
    guarded([&] {
        QTemporaryDir dir;
        for (const char* rel : {"missing.db", "no/such/dir/missing.db"}) {
            const std::string path = dir.filePath(rel).toStdString();
            const auto msg = storeErrorOf([&] { RunStore store(path, RunStore::Mode::ReadOnly); });
            QVERIFY(isStoreError(msg));
            QVERIFY2(msg->find(path) != std::string::npos, msg->c_str());
            QVERIFY(!QFile::exists(QString::fromStdString(path)));
        }
        QVERIFY(!QFile::exists(dir.filePath("no")));
        QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden), QStringList());
    });
}

void TestRunStore::readOnlyDatabaseFile() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        const int64_t id = storeRun(path, newRun("frozen"), {{1, "train_loss", 1.5}});
        // Mode::ReadOnly: reads work, every write is refused with a StoreError.
        {
            RunStore ro(path, RunStore::Mode::ReadOnly);
            QCOMPARE(ro.run(id).name, std::string("frozen"));
            QCOMPARE(ro.metrics(id).size(), size_t(1));
            const std::vector<std::pair<const char*, std::function<void()>>> writes = {
                {"createRun", [&] { ro.createRun(newRun("x")); }},
                {"finishRun", [&] { ro.finishRun(id, RunStatus::Finished, 1, 0.1); }},
                {"addMetrics", [&] { ro.addMetrics(id, {{2, "train_loss", 1.0}}); }},
                {"addTag", [&] { ro.addTag(id, "t"); }},
                {"setNotes", [&] { ro.setNotes(id, "n"); }},
                {"deleteRun", [&] { ro.deleteRun(id); }},
            };
            for (const auto& [name, write] : writes) QVERIFY2(isStoreError(storeErrorOf(write)), name);
        }
        {
            RunStore check(path, RunStore::Mode::ReadOnly);
            const RunInfo r = check.run(id);
            QVERIFY(r.status == RunStatus::Running);
            QVERIFY(r.tags.empty());
            QCOMPARE(r.notes, std::string());
            QCOMPARE(check.listRuns().size(), size_t(1));
            QCOMPARE(check.metrics(id).size(), size_t(1));
        }

        QVERIFY(::chmod(path.c_str(), 0444) == 0);
        if (geteuid() == 0) {
            ::chmod(path.c_str(), 0644);
            QSKIP("running as root: chmod 0444 does not stop root's writes (Mode::ReadOnly was checked above)");
        }
        // A write-protected file: opening read-write either fails or every write fails, with a clear
        // error; nothing stored changes.
        std::optional<std::string> msg;
        try {
            RunStore store(path);
            msg = storeErrorOf([&] { store.createRun(newRun("x")); });
            QVERIFY2(isStoreError(storeErrorOf([&] { store.setNotes(id, "n"); })), "setNotes");
        } catch (const StoreError& e) {
            msg = std::string(e.what());
        }
        QVERIFY(isStoreError(msg));
        QVERIFY2(msg->find("read-only") != std::string::npos || msg->find("readonly") != std::string::npos,
                 msg->c_str());
        ::chmod(path.c_str(), 0644);
        RunStore check(path, RunStore::Mode::ReadOnly);
        QCOMPARE(check.listRuns().size(), size_t(1));
        QCOMPARE(check.run(id).notes, std::string());
    });
}

void TestRunStore::readOnlyFolderStillReads() {
    guarded([&] {
        QTemporaryDir dir;
        // A name that means something in a URI, to show the file is opened by its name.
        QVERIFY(QDir(dir.path()).mkdir("shared #1"));
        const std::string folder = dir.filePath("shared #1").toStdString();
        const std::string path = folder + "/runs?.db";
        const int64_t id = storeRun(path, newRun("archived"), {{1, "train_loss", 1.5}});
        QVERIFY(!QFile::exists(QString::fromStdString(path + "-wal"))); // closed cleanly: WAL folded in
        // Another user's folder, or a read-only medium: SQLite cannot create the WAL index (-shm).
        QVERIFY(::chmod(dir.path().toLocal8Bit().constData(), 0755) == 0);
        QVERIFY(::chmod(path.c_str(), 0444) == 0);
        QVERIFY(::chmod(folder.c_str(), 0555) == 0);
        // Root writes anyway: read as an unprivileged user in a child process then.
        const bool root = geteuid() == 0;
        const pid_t child = root ? fork() : 0;
        if (child == 0) {
            int failed = 0;
            if (root && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
            try {
                RunStore ro(path, RunStore::Mode::ReadOnly);
                const RunInfo r = ro.run(id);
                failed = r.name != "archived" || ro.metrics(id).size() != 1 || ro.listRuns().size() != 1;
                // Writing still fails with a clear error.
                const auto refused = storeErrorOf([&] { RunStore rw(path); rw.createRun(newRun("x")); });
                failed |= !isStoreError(refused) || refused->find("read-only") == std::string::npos;
            } catch (const std::exception& e) {
                std::fprintf(stderr, "read-only folder: %s\n", e.what());
                failed = 1;
            }
            if (root) _exit(failed ? 1 : 0);
            QVERIFY(!failed);
        } else {
            int status = 0;
            QCOMPARE(waitpid(child, &status, 0), child);
            QVERIFY(WIFEXITED(status));
            QCOMPARE(WEXITSTATUS(status), 0);
        }
        QVERIFY(!QFile::exists(QString::fromStdString(path + "-shm")));
        ::chmod(folder.c_str(), 0755);
        ::chmod(path.c_str(), 0644);
    });
}

void TestRunStore::lockedDatabase() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        RunStore store(path);
        const int64_t id = store.createRun(newRun("locked"));
        store.addMetrics(id, {{1, "train_loss", 1.0}, {2, "train_loss", 0.5}});
        store.addTag(id, "before");

        RawDb other(path);
        other.exec("BEGIN EXCLUSIVE");
        other.exec("INSERT INTO metrics(run_id, step, key, value) VALUES(" + std::to_string(id) + ", 3, 'uncommitted', 9)");
        QElapsedTimer timer;
        timer.start();
        const auto msg = storeErrorOf([&] { store.addMetrics(id, {{3, "train_loss", 0.25}}); });
        QVERIFY(isStoreError(msg));
        QVERIFY2(msg->find("locked") != std::string::npos, msg->c_str());
        QVERIFY2(msg->find(path) != std::string::npos, msg->c_str());
        qInfo("locked write failed after %lld ms: %s", static_cast<long long>(timer.elapsed()), msg->c_str());
        // Readers still read while the lock is held (WAL).
        QCOMPARE(store.metrics(id).size(), size_t(2));
        other.exec("ROLLBACK");

        const RunInfo r = store.run(id);
        QCOMPARE(r.name, std::string("locked"));
        QCOMPARE(r.tags, std::vector<std::string>{"before"});
        const auto metrics = store.metrics(id);
        QCOMPARE(metrics.size(), size_t(2));
        QCOMPARE(metrics[0].value, 1.0);
        QCOMPARE(metrics[1].value, 0.5);
        QVERIFY(store.integrityOk());
        // And the store writes again once the lock is gone.
        store.addMetrics(id, {{3, "train_loss", 0.25}});
        QCOMPARE(store.metrics(id).size(), size_t(3));
    });
}

QTEST_GUILESS_MAIN(TestRunStore)
#include "test_run_store.moc"
