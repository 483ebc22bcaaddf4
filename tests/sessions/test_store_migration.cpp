// The store across schema versions and at the end of the disk: a schema-1 file opened by this
// build is migrated with every record intact and new columns at their defaults; a write that
// finds the disk (or the database's size limit) full fails with a clear StoreError and leaves
// everything stored before it in place, also when it happens on the recorder's thread.
#include <QtTest>

#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"

#include "sessions/store/mask_codec.hpp"
#include "sessions/store/recorder.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/sweep_store.hpp"

#include <QTemporaryDir>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace srigl;
using namespace srigl::sessions;

namespace {

// Random bits do not compress: a batch of these needs new pages in the file.
LayerMaskSnapshot noiseMask(const std::string& name, int64_t out, int64_t fanIn, uint32_t seed) {
    LayerMaskSnapshot s;
    s.name = name;
    s.outFeatures = out;
    s.fanIn = fanIn;
    std::mt19937 gen(seed);
    s.bits.resize(static_cast<size_t>((out * fanIn + 7) / 8));
    for (auto& b : s.bits) b = static_cast<uint8_t>(gen());
    return s;
}

MaskRecord maskRecord(int64_t step, LayerMaskSnapshot mask) {
    MaskRecord r;
    r.step = step;
    r.stats.name = mask.name;
    r.stats.outFeatures = mask.outFeatures;
    r.stats.fanIn = mask.fanIn;
    r.stats.k = 3;
    r.mask = std::move(mask);
    return r;
}

// The file as the build of schema `version` left it: every migration up to it and its user_version.
void writeSchema(RawDb& raw, int version) {
    raw.exec("PRAGMA journal_mode=WAL");
    for (int v = 1; v <= version; ++v) raw.exec(migrationSql(v));
    raw.exec("PRAGMA user_version=" + std::to_string(version));
}

NewRun newRun(const std::string& name) {
    NewRun r;
    r.name = name;
    r.config = R"({"method":"srigl"})";
    r.method = "srigl";
    r.model = "mlp";
    r.dataset = "synthetic";
    r.sparsity = 0.9;
    return r;
}

// A full disk without root or a tiny file system: every connection this process opens from now
// on gets a page limit (PRAGMA max_page_count clamps to the file's current size when lower), so
// the next write that needs a new page fails with SQLITE_FULL, as on a full disk.
int fullDiskExtension(sqlite3* db, const char**, const sqlite3_api_routines*) {
    sqlite3_exec(db, "PRAGMA max_page_count=1", nullptr, nullptr, nullptr);
    return SQLITE_OK;
}

class FullDisk {
public:
    FullDisk() { sqlite3_auto_extension(reinterpret_cast<void (*)()>(fullDiskExtension)); }
    ~FullDisk() { sqlite3_reset_auto_extension(); }
    FullDisk(const FullDisk&) = delete;
    FullDisk& operator=(const FullDisk&) = delete;
};

} // namespace

class TestStoreMigration : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void migrationSqlCoversEveryVersion();
    void schemaOneMigratedWithDataIntact();
    void migrationIsIdempotentAcrossOpens();
    void schemaEightRunsTableRebuiltForImportedStatus();
    void fullDiskFailsClearlyAndKeepsData();
    void recorderSurvivesFullDisk();
};

void TestStoreMigration::migrationSqlCoversEveryVersion() {
    QVERIFY(migrationSql(0) == nullptr);
    for (int v = 1; v <= RunStore::kSchemaVersion; ++v) QVERIFY2(migrationSql(v) != nullptr, qPrintable(QString::number(v)));
    QVERIFY(migrationSql(RunStore::kSchemaVersion + 1) == nullptr);
}

void TestStoreMigration::schemaOneMigratedWithDataIntact() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("v1.db").toStdString();
        const auto mask = noiseMask("fc1", 30, 40, 7);
        {
            // What a schema-1 build wrote: a run with tags, metrics (one NaN), a mask snapshot, a
            // timing row of the old form and a checkpoint.
            RawDb raw(path);
            writeSchema(raw, 1);
            raw.exec("INSERT INTO runs(id, name, created_at, finished_at, status, notes, config, engine_version, host, "
                     "pid, device, blas, threads, method, model, dataset, sparsity, steps, test_accuracy) VALUES(5, "
                     "'old', 1000, 2000, 'finished', 'kept notes', '{\"method\":\"srigl\"}', '0.0.9', 'h', 1, 'cpu', "
                     "'openblas', 4, 'srigl', 'mlp', 'synthetic', 0.9, 640, 0.875)");
            raw.exec("INSERT INTO run_tags VALUES(5, 'legacy')");
            raw.exec("INSERT INTO metrics VALUES(5, 10, 'train_loss', 2.5), (5, 20, 'train_loss', NULL), "
                     "(5, 640, 'test_accuracy', 0.875)");
            raw.execBlob("INSERT INTO masks(run_id, step, layer, out_features, fan_in, k, active, ablated, pruned, "
                         "regrown, sad, sparsity, ablated_ids, bits, bits_size) VALUES(5, 100, 'fc1', 30, 40, 4, 29, 1, "
                         "12, 12, 24, 0.9, x'0300000000000000', ?1, " +
                             std::to_string(mask.bits.size()) + ")",
                         compressBytes(mask.bits));
            raw.exec("INSERT INTO timings(run_id, created_at, device, layer, batch, sparsity, dense_us, csr_us, "
                     "structured_us, condensed_us) VALUES(5, 3000, 'cpu', 'fc1', 64, 0.9, 10.5, NULL, 7.25, 3.5)");
            raw.exec("INSERT INTO checkpoints VALUES(5, 600, '/tmp/run-5.ckpt', 2500)");
        }
        RunStore store(path);
        QCOMPARE(store.schemaVersion(), RunStore::kSchemaVersion);
        QVERIFY(store.integrityOk());

        const RunInfo r = store.run(5);
        QCOMPARE(r.name, std::string("old"));
        QVERIFY(r.status == RunStatus::Finished);
        QCOMPARE(r.createdAt, int64_t(1000));
        QCOMPARE(r.finishedAt, int64_t(2000));
        QCOMPARE(r.notes, std::string("kept notes"));
        QCOMPARE(r.tags, std::vector<std::string>{"legacy"});
        QCOMPARE(r.threads, int64_t(4));
        QCOMPARE(r.steps, int64_t(640));
        QCOMPARE(r.testAccuracy, 0.875);

        const auto metrics = store.metrics(5);
        QCOMPARE(metrics.size(), size_t(3));
        QCOMPARE(metrics[0].key, std::string("test_accuracy"));
        QCOMPARE(metrics[1].value, 2.5);
        QVERIFY(std::isnan(metrics[2].value));

        const auto masks = store.masks(5);
        QCOMPARE(masks.size(), size_t(1));
        QVERIFY(masks[0].mask.bits == mask.bits);
        QCOMPARE(masks[0].mask.ablated, std::vector<int64_t>{3});
        QCOMPARE(masks[0].stats.sad, int64_t(24));
        QVERIFY(masks[0].stats.thresholds.empty()); // version 8's column is NULL on the old row
        QCOMPARE(masks[0].mask.rowStride, int64_t(1)); // version 11's: every row, as it was written
        QVERIFY(!masks[0].mask.sampled());
        QCOMPARE(store.maskStats(5).size(), size_t(1));

        // Timing columns added by version 2 take their defaults on the old row.
        const auto timings = store.timings(5);
        QCOMPARE(timings.size(), size_t(1));
        QCOMPARE(timings[0].denseUs, 10.5);
        QVERIFY(std::isnan(timings[0].csrUs));
        QCOMPARE(timings[0].condensedUs, 3.5);
        QCOMPARE(timings[0].inFeatures, int64_t(0));
        QCOMPARE(timings[0].outFeatures, int64_t(0));
        QCOMPARE(timings[0].threads, int64_t(0));
        QCOMPARE(timings[0].blas, std::string());
        QCOMPARE(timings[0].kernel, std::string());

        const auto ckpt = store.lastCheckpoint(5);
        QVERIFY(ckpt && ckpt->first == 600 && ckpt->second == "/tmp/run-5.ckpt");

        // Tables of later versions exist, empty: weights (3), sweeps (4).
        QVERIFY(store.weightStats(5).empty());
        QVERIFY(store.weightValues(5).empty());
        SweepStore sweeps(store);
        QVERIFY(sweeps.listSweeps().empty());
        RunFilter inSweep;
        inSweep.sweep = 1;
        QVERIFY(store.listRuns(inSweep).empty());

        // The migrated file takes new records, and new runs do not collide with the old id.
        const int64_t id = store.createRun(newRun("new"));
        QVERIFY(id > 5);
        store.addMetrics(5, {{700, "train_loss", 1.0}});
        QCOMPARE(store.metrics(5).size(), size_t(4));
    });
}

// Version 9 rebuilds the runs table (a CHECK cannot change in place): the rows that point at a run
// survive the rebuild, the new status is accepted, and foreign keys act again afterwards.
void TestStoreMigration::schemaEightRunsTableRebuiltForImportedStatus() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("v8.db").toStdString();
        const auto mask = noiseMask("fc1", 4, 8, 3);
        {
            RawDb raw(path);
            writeSchema(raw, 8);
            raw.exec("INSERT INTO runs(id, name, created_at, status, config, uuid, error) VALUES(7, 'eight', 1000, "
                     "'failed', '{}', 'abc', 'disk full')");
            raw.exec("INSERT INTO run_tags VALUES(7, 'kept')");
            raw.exec("INSERT INTO metrics VALUES(7, 10, 'train_loss', 1.5)");
            bool refused = false;
            try {
                raw.exec("UPDATE runs SET status = 'imported' WHERE id = 7");
            } catch (const std::runtime_error&) {
                refused = true;
            }
            QVERIFY(refused); // schema 8 has no such status
        }
        RunStore store(path);
        QCOMPARE(store.schemaVersion(), RunStore::kSchemaVersion);
        QVERIFY(store.integrityOk());
        const RunInfo r = store.run(7);
        QCOMPARE(r.uuid, std::string("abc"));
        QCOMPARE(r.error, std::string("disk full"));
        QCOMPARE(r.tags, std::vector<std::string>{"kept"});
        QCOMPARE(store.metrics(7).size(), size_t(1));
        store.finishRun(7, RunStatus::Imported, 3, -1.0);
        QVERIFY(store.run(7).status == RunStatus::Imported);
        RunFilter imported;
        imported.status = "imported";
        QCOMPARE(store.listRuns(imported).size(), size_t(1));
        store.addMasks(7, {maskRecord(3, mask)});
        store.deleteRun(7); // foreign keys on again: the run's rows go with it
        RawDb raw(path);
        QCOMPARE(raw.scalar("SELECT count(*) FROM masks"), int64_t(0));
        QCOMPARE(raw.scalar("SELECT count(*) FROM run_tags"), int64_t(0));
        QCOMPARE(raw.scalar("SELECT count(*) FROM metrics"), int64_t(0));
    });
}

void TestStoreMigration::migrationIsIdempotentAcrossOpens() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("v1.db").toStdString();
        {
            RawDb raw(path);
            raw.exec(migrationSql(1));
            raw.exec("PRAGMA user_version=1");
        }
        { RunStore first(path); }
        RunStore second(path); // already current: nothing runs twice (ALTER TABLE would fail)
        QCOMPARE(second.schemaVersion(), RunStore::kSchemaVersion);
        RunStore reader(path, RunStore::Mode::ReadOnly);
        QVERIFY(reader.integrityOk());
    });
}

void TestStoreMigration::fullDiskFailsClearlyAndKeepsData() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("runs.db").toStdString();
        const auto before = noiseMask("fc1", 64, 64, 1);
        const int64_t id = storeRun(path, newRun("before-full"), {{1, "train_loss", 2.0}, {2, "train_loss", 1.5}},
                                    {maskRecord(0, before)});
        std::optional<std::string> msg;
        {
            FullDisk full;
            RunStore store(path);
            std::vector<MaskRecord> big;
            for (int i = 0; i < 8; ++i) big.push_back(maskRecord(100, noiseMask("layer" + std::to_string(i), 256, 512, 10 + i)));
            msg = storeErrorOf([&] { store.addMasks(id, big); });
            QVERIFY2(msg && msg->rfind("<other", 0) != 0, msg ? msg->c_str() : "no error");
            QVERIFY2(msg->find("full") != std::string::npos, msg->c_str());
            QVERIFY2(msg->find(path) != std::string::npos, msg->c_str());
            // The failed batch left nothing behind, and small writes into free space still work.
            QCOMPARE(store.masks(id).size(), size_t(1));
        }
        qInfo("full disk: %s", msg->c_str());
        RunStore again(path);
        QVERIFY(again.integrityOk());
        QCOMPARE(again.run(id).name, std::string("before-full"));
        QCOMPARE(again.metrics(id).size(), size_t(2));
        const auto masks = again.masks(id);
        QCOMPARE(masks.size(), size_t(1));
        QVERIFY(masks[0].mask.bits == before.bits);
        // With room again, the same write goes through.
        again.addMasks(id, {maskRecord(100, noiseMask("fc2", 256, 512, 3))});
        QCOMPARE(again.masks(id).size(), size_t(2));
    });
}

void TestStoreMigration::recorderSurvivesFullDisk() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("runs.db").toStdString();
        const int64_t id = storeRun(path, newRun("recorded"), {{1, "train_loss", 3.0}});
        std::string error;
        RecordingHealth last;
        int stepsWhileFull = 0;
        {
            FullDisk full;
            int mask = 0;
            Recorder rec(path, id, [&] {
                std::vector<LayerMaskSnapshot> snaps;
                for (int i = 0; i < 4; ++i) snaps.push_back(noiseMask("fc" + std::to_string(i), 256, 512, 100 + mask++));
                return snaps;
            });
            // A full disk may pass (the user frees space): the recorder holds its records and retries
            // until the run ends, then gives up naming what it could not store. Held masks beyond
            // 256 KiB are shed, oldest first.
            rec.setCloseGrace(std::chrono::milliseconds(1000));
            rec.setHeldMemoryLimit(size_t(256) << 10);
            std::vector<LayerUpdateStats> layers;
            for (int i = 0; i < 4; ++i) {
                LayerUpdateStats s;
                s.name = "fc" + std::to_string(i);
                layers.push_back(s);
            }
            rec.onStart(layers, 1000); // the first snapshots: 4 x 16 KiB of noise do not fit
            // Training goes on while the writer waits: callbacks never throw or block.
            const auto start = std::chrono::steady_clock::now();
            for (int64_t step = 2; !rec.health().waiting; ++step) {
                StepMetrics m;
                m.step = step;
                rec.onStep(m);
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                QVERIFY2(std::chrono::steady_clock::now() - start < std::chrono::seconds(30), "no wait reported");
            }
            QVERIFY(rec.error().empty());
            QVERIFY2(rec.health().error.find("full") != std::string::npos, rec.health().error.c_str());
            for (int64_t step = 1000; step < 1100; ++step) {
                StepMetrics m;
                m.step = step;
                rec.onStep(m);
                MaskUpdateEvent e;
                e.step = step;
                e.layers = layers;
                rec.onMaskUpdate(e);
                ++stepsWhileFull;
            }
            error = rec.close();
            last = rec.health();
        }
        QCOMPARE(stepsWhileFull, 100);
        QVERIFY2(error.find("full") != std::string::npos, error.c_str());
        QVERIFY2(error.find(path) != std::string::npos, error.c_str());
        QVERIFY2(error.find("could not be stored") != std::string::npos, error.c_str());
        QVERIFY2(error.find("to 1099") != std::string::npos, error.c_str());
        QVERIFY2(error.find("dropped") != std::string::npos, error.c_str()); // 400 snapshots of 16 KiB > 256 KiB
        QVERIFY(last.droppedRecords > 0);
        QVERIFY(!last.waiting);
        RunStore again(path);
        QVERIFY(again.integrityOk());
        const auto metrics = again.metrics(id);
        const bool kept = std::any_of(metrics.begin(), metrics.end(), [](const Metric& m) {
            return m.step == 1 && m.key == "train_loss" && m.value == 3.0;
        });
        QVERIFY(kept); // recorded before: still there
        for (const auto& m : metrics) QVERIFY(m.step == 1); // no part of a batch that did not fit
        QVERIFY(again.masks(id).empty());
    });
}

QTEST_GUILESS_MAIN(TestStoreMigration)
#include "test_store_migration.moc"
