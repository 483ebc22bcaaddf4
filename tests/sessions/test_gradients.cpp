// Gradients in the session store: the dense gradient a RigL / SRigL mask update grew by, stored
// float16 relative to its largest entry (round trip, bad shapes, resume drops later ones), an older
// schema-4 file opened by this build (migrated, its weights still readable, no gradients), and the
// recorder writing, at every update of a tiny RigL run, exactly the dense gradient of that step
// (computed here on the side from the same batch), while a SET run records none.
#include <QtTest>

#include "tests/support/guarded.hpp"

#include "engine/training/loss.hpp"
#include "engine/training/trainer.hpp"
#include "engine/training/trainer_internals.hpp"
#include "sessions/store/recorder.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"
#include "sessions/store/weight_codec.hpp"

#include <QTemporaryDir>

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace srigl;
using namespace srigl::sessions;

namespace {

NewRun newRun(const std::string& name, const std::string& method = "rigl") {
    NewRun r;
    r.name = name;
    r.config = "{}";
    r.method = method;
    return r;
}

float largestMagnitude(const std::vector<float>& v) {
    float m = 0.0f;
    for (float x : v) m = std::max(m, std::fabs(x));
    return m;
}

RunConfig tinyRun(const std::string& method) {
    RunConfig c;
    c.method = method;
    c.synthetic_train = 256;
    c.synthetic_test = 64;
    c.hidden = "32,16";
    c.batch_size = 32;
    c.epochs = 1;
    c.delta_t = 2;
    c.threads = 1;
    return c;
}

// Trains `config` step by step under a recorder that records weights (as `srigl train` and the
// Studio do) and returns, for every step, the dense gradient of each dynamic layer computed on the
// side from that step's batch before the trainer takes it.
std::map<int64_t, std::vector<std::vector<float>>> trainRecorded(const RunConfig& config, const std::string& db,
                                                                 int64_t runId, std::vector<std::string>& names) {
    Trainer trainer(config);
    Recorder rec(db, runId, [&] { return trainer.maskSnapshot(); });
    rec.setWeightSource([&] { return trainer.weightSnapshots(); });
    trainer.setObserver(&rec);
    rec.onStart(trainer.layerStats(), trainer.totalSteps());
    auto& s = trainer.internals();
    names.clear();
    for (const auto& st : s.layers)
        if (st.dynamic) names.push_back(st.name);
    std::map<int64_t, std::vector<std::vector<float>>> expected;
    while (trainer.step() < trainer.totalSteps()) {
        const int64_t t = trainer.step() + 1;
        const int64_t spe = trainer.stepsPerEpoch();
        Batch batch = s.sampler->trainBatch((t - 1) / spe, (t - 1) % spe, s.device);
        s.model->train();
        s.optimizer->zeroGrad();
        crossEntropy(s.model->forward(batch.inputs), batch.targets, config.label_smoothing).backward();
        std::vector<std::vector<float>> grads;
        for (const auto& st : s.layers) {
            if (!st.dynamic) continue;
            auto g = st.layer->weight.grad().detach().reshape({st.layer->weightMatrix().size(0), -1});
            g = g.to(torch::kCPU, torch::kFloat).contiguous();
            grads.emplace_back(g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
        }
        expected[t] = std::move(grads);
        s.optimizer->zeroGrad();
        if (!trainer.trainStep()) break;
    }
    if (rec.close() != "") throw std::runtime_error("recorder: " + rec.error());
    return expected;
}

} // namespace

class TestGradients : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void storeRoundTripRelativeToLargest();
    void storeRefusesValuesThatDoNotFillTheShape();
    void resumeAndDeleteDropGradients();
    void schemaFourFileOpensWithoutGradients();
    void recorderStoresTheDenseGradientOfEachRiglUpdate();
    void setRunRecordsNoGradients();
};

void TestGradients::storeRoundTripRelativeToLargest() {
    guarded([] {
        QTemporaryDir dir;
        RunStore store(dir.filePath("runs.db").toStdString());
        const int64_t id = store.createRun(newRun("grads"));
        // Gradients of 1e-7 would underflow float16 on their own; relative to the largest they keep
        // about three digits of it.
        std::vector<float> tiny(6 * 5), big(3 * 4);
        for (size_t i = 0; i < tiny.size(); ++i) tiny[i] = 1e-7f * std::sin(static_cast<float>(i) + 0.5f);
        for (size_t i = 0; i < big.size(); ++i) big[i] = 40.0f * std::cos(static_cast<float>(i));
        store.addGradients(id, {GradientRecord{100, "fc1", 6, 5, tiny}, GradientRecord{100, "fc2", 3, 4, big},
                                GradientRecord{200, "fc1", 6, 5, std::vector<float>(30, 0.0f)}});
        const auto all = store.gradientValues(id);
        QCOMPARE(all.size(), size_t(3));
        const auto fc1 = store.gradientValues(id, "fc1", 100);
        QCOMPARE(fc1.size(), size_t(1));
        QCOMPARE(fc1[0].outFeatures, int64_t(6));
        QCOMPARE(fc1[0].fanIn, int64_t(5));
        QCOMPARE(fc1[0].values.size(), tiny.size());
        const float scale = largestMagnitude(tiny);
        for (size_t i = 0; i < tiny.size(); ++i) {
            QVERIFY2(std::fabs(fc1[0].values[i] - tiny[i]) <= 5e-4f * scale, qPrintable(QString::number(i)));
            QVERIFY(fc1[0].values[i] != 0.0f); // nothing underflowed
        }
        const auto fc2 = store.gradientValues(id, "fc2");
        QCOMPARE(fc2.size(), size_t(1));
        for (size_t i = 0; i < big.size(); ++i) QVERIFY(std::fabs(fc2[0].values[i] - big[i]) <= 5e-4f * 40.0f);
        const auto zero = store.gradientValues(id, "fc1", 200);
        QCOMPARE(zero.size(), size_t(1));
        for (float v : zero[0].values) QCOMPARE(v, 0.0f);
        QVERIFY(store.gradientValues(id, "fc1", 150).empty());
        QVERIFY(store.gradientValues(id, "fc3").empty());
        QVERIFY_THROWS_EXCEPTION(StoreError, store.gradientValues(id + 1));
    });
}

void TestGradients::storeRefusesValuesThatDoNotFillTheShape() {
    guarded([] {
        QTemporaryDir dir;
        RunStore store(dir.filePath("runs.db").toStdString());
        const int64_t id = store.createRun(newRun("bad"));
        store.addGradients(id, {GradientRecord{10, "fc1", 2, 2, {1, 2, 3, 4}}});
        try {
            // The good first record and the bad second one: neither is kept (one transaction).
            store.addGradients(id, {GradientRecord{20, "fc1", 2, 2, {1, 2, 3, 4}}, GradientRecord{20, "fc2", 2, 3, {1, 2}}});
            QFAIL("a gradient with too few values was stored");
        } catch (const StoreError& e) {
            QVERIFY2(QString(e.what()).contains("gradient of fc2 at step 20: 2 values for a 2 x 3 layer"), e.what());
        }
        QCOMPARE(store.gradientValues(id).size(), size_t(1));
    });
}

void TestGradients::resumeAndDeleteDropGradients() {
    guarded([] {
        QTemporaryDir dir;
        RunStore store(dir.filePath("runs.db").toStdString());
        const int64_t id = store.createRun(newRun("resumed"));
        for (int64_t step : {100, 200, 300}) store.addGradients(id, {GradientRecord{step, "fc1", 1, 2, {1.0f, -1.0f}}});
        store.reopenRun(id, 200); // continues from the checkpoint at 200: 300 will be recorded again
        std::vector<int64_t> steps;
        for (const auto& g : store.gradientValues(id)) steps.push_back(g.step);
        QCOMPARE(steps, (std::vector<int64_t>{100, 200}));
        store.finishRun(id, RunStatus::Finished, 200, -1); // a live run cannot be deleted
        store.deleteRun(id);
        Statement left(store.database(), "SELECT count(*) FROM gradients");
        QVERIFY(left.step());
        QCOMPARE(left.columnInt(0), int64_t(0));
    });
}

void TestGradients::schemaFourFileOpensWithoutGradients() {
    guarded([] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("old.db").toStdString();
        // What a schema-4 build wrote: its tables, one run with one layer's weights.
        {
            sqlite3* raw = nullptr;
            QCOMPARE(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
            std::string sql;
            for (int v = 1; v <= 4; ++v) sql += migrationSql(v);
            sql += "PRAGMA user_version=4;"
                   "INSERT INTO runs(id, name, created_at, status, config) VALUES(7, 'old', 1, 'finished', '{}');";
            QCOMPARE(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
            const auto blob = encodeWeights({0.5f, -0.25f});
            sqlite3_stmt* st = nullptr;
            QCOMPARE(sqlite3_prepare_v2(raw,
                                        "INSERT INTO weights(run_id, step, layer, count, encoding, data) "
                                        "VALUES(7, 100, 'fc1', 2, 'f16-planes-zstd', ?1)",
                                        -1, &st, nullptr),
                     SQLITE_OK);
            sqlite3_bind_blob(st, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
            QCOMPARE(sqlite3_step(st), SQLITE_DONE);
            sqlite3_finalize(st);
            sqlite3_close(raw);
        }
        // Read-only first: an old file is never changed behind the user's back.
        QVERIFY_THROWS_EXCEPTION(StoreError, RunStore(path, RunStore::Mode::ReadOnly));
        {
            RunStore store(path);
            QCOMPARE(store.schemaVersion(), RunStore::kSchemaVersion);
            QCOMPARE(store.run(7).name, std::string("old"));
            QVERIFY(store.gradientValues(7).empty()); // recorded before gradients were
            const auto w = store.weightValues(7, "fc1", 100);
            QCOMPARE(w.size(), size_t(1));
            QCOMPARE(w[0].values, (std::vector<float>{0.5f, -0.25f}));
            store.addGradients(7, {GradientRecord{100, "fc1", 1, 2, {2.0f, -4.0f}}});
        }
        RunStore reader(path, RunStore::Mode::ReadOnly);
        QCOMPARE(reader.gradientValues(7, "fc1", 100).at(0).values, (std::vector<float>{2.0f, -4.0f}));
    });
}

void TestGradients::recorderStoresTheDenseGradientOfEachRiglUpdate() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dir.filePath("runs.db").toStdString();
        int64_t id = 0;
        {
            RunStore store(db);
            id = store.createRun(newRun("rigl"));
        }
        const RunConfig config = tinyRun("rigl");
        std::vector<std::string> names;
        const auto expected = trainRecorded(config, db, id, names);
        RunStore store(db, RunStore::Mode::ReadOnly);
        std::set<int64_t> updateSteps;
        for (int64_t s : store.maskSteps(id))
            if (s > 0) updateSteps.insert(s);
        QVERIFY(!updateSteps.empty());
        const auto grads = store.gradientValues(id);
        std::set<int64_t> gradientSteps;
        for (const auto& g : grads) {
            gradientSteps.insert(g.step);
            const auto it = std::find(names.begin(), names.end(), g.layer);
            QVERIFY2(it != names.end(), g.layer.c_str());
            const auto& want = expected.at(g.step)[static_cast<size_t>(it - names.begin())];
            QCOMPARE(g.values.size(), want.size());
            const float scale = largestMagnitude(want);
            QVERIFY(scale > 0.0f);
            const auto masks = store.masksAtOrBefore(id, g.layer, g.step, 1);
            QCOMPARE(masks.size(), size_t(1));
            const auto& bits = masks[0].mask.bits;
            int64_t nonZeroOutsideMask = 0;
            for (size_t i = 0; i < want.size(); ++i) {
                QVERIFY2(std::fabs(g.values[i] - want[i]) <= 1e-3f * scale,
                         qPrintable(QString("%1 step %2 entry %3: %4 vs %5")
                                        .arg(QString::fromStdString(g.layer))
                                        .arg(g.step)
                                        .arg(i)
                                        .arg(g.values[i])
                                        .arg(want[i])));
                const bool active = (bits[i / 8] >> (i % 8)) & 1u;
                nonZeroOutsideMask += !active && g.values[i] != 0.0f;
            }
            // Dense: growth ranks the gradient of inactive connections, so those are stored too.
            QVERIFY(nonZeroOutsideMask > 0);
        }
        // One gradient per dynamic layer at every update, none at the initial snapshot.
        QCOMPARE(gradientSteps, updateSteps);
        QCOMPARE(grads.size(), updateSteps.size() * names.size());
    });
}

void TestGradients::setRunRecordsNoGradients() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dir.filePath("runs.db").toStdString();
        int64_t id = 0;
        {
            RunStore store(db);
            id = store.createRun(newRun("set", "set"));
        }
        std::vector<std::string> names;
        trainRecorded(tinyRun("set"), db, id, names);
        RunStore store(db, RunStore::Mode::ReadOnly);
        QVERIFY(store.maskSteps(id).size() > 1); // SET did update the masks
        QVERIFY(!store.weightValues(id).empty());
        QVERIFY(store.gradientValues(id).empty()); // it grows at random: there is no gradient to show
    });
}

QTEST_GUILESS_MAIN(TestGradients)
#include "test_gradients.moc"
