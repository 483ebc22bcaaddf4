// Weights in the session store: float16 packing, active weights in mask order and back, weight
// statistics and histograms, their rows in the store (round trip, resume drops later ones), the
// recorder writing both at every mask snapshot, the trainer's weight snapshots, and the heatmap
// renderer (symmetric colour range, masked entries, colour map names, videos).
#include <QtTest>

#include "tests/support/guarded.hpp"

#include "engine/errors.hpp"
#include "engine/training/trainer.hpp"
#include "engine/training/trainer_internals.hpp"
#include "sessions/store/recorder.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/weight_codec.hpp"
#include "sessions/store/weight_history.hpp"
#include "sessions/render/weight_renderer.hpp"
#include "sessions/store/weight_stats.hpp"

#include <QFile>
#include <QTemporaryDir>

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace srigl;
using namespace srigl::sessions;

namespace {

LayerMaskSnapshot randomMask(const std::string& name, int64_t out, int64_t fanIn, uint32_t seed, double density = 0.3) {
    LayerMaskSnapshot m;
    m.name = name;
    m.outFeatures = out;
    m.fanIn = fanIn;
    m.bits.assign(static_cast<size_t>((out * fanIn + 7) / 8), 0);
    std::mt19937 gen(seed);
    std::bernoulli_distribution on(density);
    for (int64_t i = 0; i < out * fanIn; ++i)
        if (on(gen)) m.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
    return m;
}

bool bitAt(const LayerMaskSnapshot& m, int64_t i) { return (m.bits[static_cast<size_t>(i / 8)] >> (i % 8)) & 1u; }

// Weights that are zero outside the mask (as the trainer keeps them), normal inside.
LayerWeightSnapshot weightsFor(const LayerMaskSnapshot& m, uint32_t seed, float scale = 0.1f) {
    LayerWeightSnapshot w;
    w.name = m.name;
    w.outFeatures = m.outFeatures;
    w.fanIn = m.fanIn;
    w.values.assign(static_cast<size_t>(m.outFeatures * m.fanIn), 0.0f);
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    for (size_t i = 0; i < w.values.size(); ++i)
        if (bitAt(m, static_cast<int64_t>(i))) w.values[i] = normal(gen);
    return w;
}

NewRun newRun(const std::string& name) {
    NewRun r;
    r.name = name;
    r.config = "{}";
    return r;
}

double relativeHalfError(float want, float got) {
    if (want == 0.0f) return std::fabs(got);
    return std::fabs(static_cast<double>(got) - want) / std::fabs(static_cast<double>(want));
}

cv::Vec3b pixel(const RgbImage& img, int x, int y) {
    const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(img.width) + static_cast<size_t>(x)) * 3;
    return {img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]};
}

// The RGB colour OpenCV's map gives an 8-bit index.
cv::Vec3b mapColour(int colormap, uint8_t index) {
    cv::Mat in(1, 1, CV_8UC1, cv::Scalar(index)), out;
    cv::applyColorMap(in, out, colormap);
    const auto bgr = out.at<cv::Vec3b>(0, 0);
    return {bgr[2], bgr[1], bgr[0]};
}

RunConfig tinyRun() {
    RunConfig c;
    c.synthetic_train = 256;
    c.synthetic_test = 64;
    c.hidden = "32,16";
    c.batch_size = 32;
    c.epochs = 1;
    c.delta_t = 2;
    c.threads = 1;
    return c;
}

} // namespace

class TestWeights : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void halfConversionExactAndRounded();
    void activeWeightsRoundTripInMaskOrder();
    void expandWeightsRejectsWrongCount();
    void encodedWeightsRoundTripAtHalfPrecision();
    void statsAndHistogram();
    void statsOfEmptyAndConstantLayers();
    void storeRoundTripAndResumeDropsLater();
    void weightHistoryPairsEachStepWithItsMask();
    void recorderWritesWeightsAtEverySnapshot();
    void trainerWeightSnapshotsAreMaskedDenseWeights();
    void sampledLayerIsRecordedWithoutItsWeights();
    void heatmapSymmetricAroundZeroWithMaskedBackground();
    void heatmapBadColormapNamesChoices();
    void heatmapVideoWritten();
};

void TestWeights::halfConversionExactAndRounded() {
    // Exactly representable values survive unchanged.
    for (float v : {0.0f, -0.0f, 1.0f, -2.5f, 0.5f, 65504.0f, 6.103515625e-05f /* smallest normal */,
                    5.9604644775390625e-08f /* smallest subnormal */})
        QCOMPARE(halfToFloat(floatToHalf(v)), v);
    QCOMPARE(floatToHalf(1.0f), uint16_t(0x3C00));
    QCOMPARE(floatToHalf(-2.0f), uint16_t(0xC000));
    QVERIFY(std::isinf(halfToFloat(floatToHalf(1e6f))));
    QVERIFY(std::isinf(halfToFloat(floatToHalf(-std::numeric_limits<float>::infinity()))));
    QVERIFY(std::isnan(halfToFloat(floatToHalf(std::numeric_limits<float>::quiet_NaN()))));
    QCOMPARE(halfToFloat(floatToHalf(1e-9f)), 0.0f); // below the subnormal range
    // Round to nearest even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
    QCOMPARE(halfToFloat(floatToHalf(1.0f + std::ldexp(1.0f, -11))), 1.0f);
    QCOMPARE(halfToFloat(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11))), 1.0f + std::ldexp(1.0f, -9));
    // Every half value converts back to itself.
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = halfToFloat(static_cast<uint16_t>(h));
        if (std::isnan(f)) continue;
        QCOMPARE(floatToHalf(f), static_cast<uint16_t>(h));
    }
    // Relative error of normal values at most 2^-11.
    std::mt19937 gen(3);
    std::uniform_real_distribution<float> u(-4.0f, 4.0f);
    for (int i = 0; i < 10000; ++i) {
        const float v = u(gen);
        if (std::fabs(v) < 1e-4f) continue;
        QVERIFY(relativeHalfError(v, halfToFloat(floatToHalf(v))) <= std::ldexp(1.0, -11));
    }
}

void TestWeights::activeWeightsRoundTripInMaskOrder() {
    guarded([&] {
        const auto mask = randomMask("fc1", 17, 23, 1);
        const auto w = weightsFor(mask, 2);
        const auto active = activeWeights(w, mask);
        int64_t bits = 0;
        for (int64_t i = 0; i < 17 * 23; ++i) bits += bitAt(mask, i);
        QCOMPARE(static_cast<int64_t>(active.size()), bits);
        // Row-major order of the set bits.
        size_t next = 0;
        for (int64_t i = 0; i < 17 * 23; ++i)
            if (bitAt(mask, i)) QCOMPARE(active[next++], w.values[static_cast<size_t>(i)]);
        const auto back = expandWeights(active, mask);
        QCOMPARE(back.name, std::string("fc1"));
        QCOMPARE(back.outFeatures, int64_t(17));
        QCOMPARE(back.fanIn, int64_t(23));
        QVERIFY(back.values == w.values);
        // Shapes that do not match are refused.
        auto wrong = w;
        wrong.fanIn = 22;
        QVERIFY_THROWS_EXCEPTION(StoreError, activeWeights(wrong, mask));
    });
}

void TestWeights::expandWeightsRejectsWrongCount() {
    const auto mask = randomMask("fc2", 8, 8, 4);
    auto active = activeWeights(weightsFor(mask, 5), mask);
    active.push_back(1.0f);
    try {
        expandWeights(active, mask);
        QFAIL("no error for a wrong count");
    } catch (const StoreError& e) {
        QVERIFY2(std::string(e.what()).find("fc2") != std::string::npos, e.what());
    }
}

void TestWeights::encodedWeightsRoundTripAtHalfPrecision() {
    guarded([&] {
        std::mt19937 gen(9);
        std::normal_distribution<float> normal(0.0f, 0.05f);
        std::vector<float> values(20000);
        for (auto& v : values) v = normal(gen);
        const auto blob = encodeWeights(values);
        QVERIFY(blob.size() < values.size() * 2); // byte planes compress below raw float16
        const auto back = decodeWeights(blob, values.size());
        QCOMPARE(back.size(), values.size());
        for (size_t i = 0; i < values.size(); ++i) QCOMPARE(back[i], halfToFloat(floatToHalf(values[i])));
        QVERIFY(decodeWeights(encodeWeights({}), 0).empty());
        QVERIFY_THROWS_EXCEPTION(StoreError, decodeWeights(blob, values.size() + 1));
        // Histogram counts round trip.
        const std::vector<int64_t> counts{0, 1, 70000, 5};
        QCOMPARE(decodeCounts(encodeCounts(counts)), counts);
        QVERIFY_THROWS_EXCEPTION(StoreError, decodeCounts({1, 2, 3}));
    });
}

void TestWeights::statsAndHistogram() {
    const std::vector<float> v{-1.0f, 0.0f, 1.0f, 2.0f, std::numeric_limits<float>::quiet_NaN()};
    const auto s = computeWeightStats("fc1", v, 4);
    QCOMPARE(s.name, std::string("fc1"));
    QCOMPARE(s.count, int64_t(4)); // NaN left out
    QCOMPARE(s.mean, 0.5);
    QCOMPARE(s.std, std::sqrt(1.25));
    QCOMPARE(s.min, -1.0);
    QCOMPARE(s.max, 2.0);
    // Bins of width 0.75 over [-1, 2]; the maximum falls in the last bin.
    QCOMPARE(s.histogram, (std::vector<int64_t>{1, 1, 1, 1}));
    const auto d = computeWeightStats("fc1", {0.1f, 0.1f, 0.2f, 0.9f, 1.0f});
    QCOMPARE(d.histogram.size(), size_t(kWeightHistogramBins));
    int64_t total = 0;
    for (auto c : d.histogram) total += c;
    QCOMPARE(total, int64_t(5));
    QCOMPARE(d.histogram.front(), int64_t(2));
    QCOMPARE(d.histogram.back(), int64_t(1));
}

void TestWeights::statsOfEmptyAndConstantLayers() {
    const auto e = computeWeightStats("x", {});
    QCOMPARE(e.count, int64_t(0));
    QCOMPARE(e.mean, 0.0);
    QCOMPARE(e.histogram.size(), size_t(kWeightHistogramBins));
    const auto c = computeWeightStats("x", {0.25f, 0.25f, 0.25f});
    QCOMPARE(c.count, int64_t(3));
    QCOMPARE(c.std, 0.0);
    QCOMPARE(c.histogram.front(), int64_t(3));
}

void TestWeights::storeRoundTripAndResumeDropsLater() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dir.filePath("runs.db").toStdString());
        const int64_t id = store.createRun(newRun("w"));
        const int64_t other = store.createRun(newRun("other"));
        const auto mask = randomMask("fc1", 30, 40, 11);
        std::vector<WeightStatsRecord> stats;
        std::vector<WeightValuesRecord> values;
        for (int64_t step : {0, 100, 200}) {
            WeightValuesRecord v;
            v.step = step;
            v.layer = "fc1";
            v.values = activeWeights(weightsFor(mask, static_cast<uint32_t>(step + 1)), mask);
            stats.push_back({step, computeWeightStats("fc1", v.values)});
            values.push_back(v);
        }
        store.addWeightStats(id, stats);
        store.addWeightValues(id, values);
        store.addWeightStats(other, {stats[0]});

        const auto gotStats = store.weightStats(id);
        QCOMPARE(gotStats.size(), size_t(3));
        for (size_t i = 0; i < 3; ++i) {
            QCOMPARE(gotStats[i].step, stats[i].step);
            QCOMPARE(gotStats[i].stats.name, std::string("fc1"));
            QCOMPARE(gotStats[i].stats.mean, stats[i].stats.mean);
            QCOMPARE(gotStats[i].stats.std, stats[i].stats.std);
            QCOMPARE(gotStats[i].stats.min, stats[i].stats.min);
            QCOMPARE(gotStats[i].stats.max, stats[i].stats.max);
            QCOMPARE(gotStats[i].stats.histogram, stats[i].stats.histogram);
            QCOMPARE(gotStats[i].stats.count, stats[i].stats.count);
        }
        QVERIFY(store.weightStats(id, "fc2").empty());
        const auto gotValues = store.weightValues(id, "fc1");
        QCOMPARE(gotValues.size(), size_t(3));
        for (size_t i = 0; i < 3; ++i) {
            QCOMPARE(gotValues[i].values.size(), values[i].values.size());
            for (size_t j = 0; j < values[i].values.size(); ++j)
                QCOMPARE(gotValues[i].values[j], halfToFloat(floatToHalf(values[i].values[j])));
        }
        // The same step again replaces its row (a resumed run records its start step again).
        store.addWeightStats(id, {stats[1]});
        QCOMPARE(store.weightStats(id).size(), size_t(3));
        // A resume from step 100 drops what came after it.
        store.reopenRun(id, 100);
        QCOMPARE(store.weightStats(id).size(), size_t(2));
        QCOMPARE(store.weightValues(id).size(), size_t(2));
        QCOMPARE(store.weightStats(other).size(), size_t(1));
        // Deleting the run (once it is no longer running) deletes its weights.
        store.finishRun(id, RunStatus::Finished, 100, -1);
        store.deleteRun(id);
        QVERIFY_THROWS_EXCEPTION(StoreError, store.weightStats(id));
        QCOMPARE(store.weightStats(other).size(), size_t(1));
    });
}

void TestWeights::weightHistoryPairsEachStepWithItsMask() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dir.filePath("runs.db").toStdString());
        const int64_t id = store.createRun(newRun("history"));
        // Masks change at steps 0 and 200; weights are stored at 0, 100, 200.
        const auto m0 = randomMask("fc1", 12, 20, 1), m2 = randomMask("fc1", 12, 20, 2);
        MaskRecord r0, r2;
        r0.step = 0;
        r0.mask = m0;
        r2.step = 200;
        r2.mask = m2;
        store.addMasks(id, {r0, r2});
        std::vector<LayerWeightSnapshot> dense{weightsFor(m0, 5), weightsFor(m0, 6), weightsFor(m2, 7)};
        std::vector<WeightValuesRecord> rows;
        const int64_t steps[] = {0, 100, 200};
        for (int i = 0; i < 3; ++i)
            rows.push_back({steps[i], "fc1", activeWeights(dense[static_cast<size_t>(i)], i < 2 ? m0 : m2)});
        store.addWeightValues(id, rows);
        const auto frames = weightHistory(store, id, "fc1");
        QCOMPARE(frames.size(), size_t(3));
        for (int i = 0; i < 3; ++i) {
            const auto& f = frames[static_cast<size_t>(i)];
            QCOMPARE(f.step, steps[i]);
            QVERIFY(f.mask.bits == (i < 2 ? m0.bits : m2.bits));
            for (size_t j = 0; j < f.weights.values.size(); ++j)
                QCOMPARE(f.weights.values[j], halfToFloat(floatToHalf(dense[static_cast<size_t>(i)].values[j])));
        }
        try {
            weightHistory(store, id, "fc9");
            QFAIL("no error for a layer without weights");
        } catch (const StoreError& e) {
            QVERIFY2(std::string(e.what()).find("fc1") != std::string::npos, e.what()); // names what there is
        }
    });
}

void TestWeights::recorderWritesWeightsAtEverySnapshot() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("runs.db").toStdString();
        int64_t id = 0;
        {
            RunStore store(path);
            id = store.createRun(newRun("recorded"));
        }
        // fc1 changes at every update; fc2 is static (only its step-0 mask), but its weights move.
        uint32_t seed = 1;
        LayerMaskSnapshot fc1 = randomMask("fc1", 20, 30, 1), fc2 = randomMask("fc2", 10, 20, 2, 1.0);
        std::vector<LayerWeightSnapshot> lastWeights;
        {
            Recorder rec(path, id, [&] { return std::vector<LayerMaskSnapshot>{fc1, fc2}; });
            rec.setWeightSource([&] {
                lastWeights = {weightsFor(fc1, ++seed), weightsFor(fc2, ++seed)};
                return lastWeights;
            });
            LayerUpdateStats s1, s2;
            s1.name = "fc1";
            s2.name = "fc2";
            rec.onStart({s1, s2}, 300);
            for (int64_t step : {100, 200}) {
                fc1 = randomMask("fc1", 20, 30, static_cast<uint32_t>(step));
                MaskUpdateEvent e;
                e.step = step;
                e.layers = {s1};
                rec.onMaskUpdate(e);
            }
            QCOMPARE(rec.close(), std::string());
        }
        RunStore store(path);
        const auto stats = store.weightStats(id);
        QCOMPARE(stats.size(), size_t(6)); // both layers at 0, 100 and 200
        QCOMPARE(store.weightStats(id, "fc2").size(), size_t(3));
        QCOMPARE(store.masks(id, "fc2").size(), size_t(1));
        // The last snapshot: values in fc1's mask order at step 200, its statistics alike.
        const auto frames = weightHistory(store, id, "fc1");
        QCOMPARE(frames.back().step, int64_t(200));
        const auto want = activeWeights(lastWeights[0], fc1);
        const auto got = activeWeights(frames.back().weights, frames.back().mask);
        QCOMPARE(got.size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) QCOMPARE(got[i], halfToFloat(floatToHalf(want[i])));
        const auto last = store.weightStats(id, "fc1").back();
        QCOMPARE(last.stats.count, static_cast<int64_t>(want.size()));
        QVERIFY(std::fabs(last.stats.mean - computeWeightStats("fc1", want).mean) < 1e-12);
        // fc2's weights at 200 are read against its step-0 mask.
        QCOMPARE(weightHistory(store, id, "fc2").size(), size_t(3));
    });
}

void TestWeights::trainerWeightSnapshotsAreMaskedDenseWeights() {
    guarded([&] {
        Trainer trainer(tinyRun());
        for (int i = 0; i < 3; ++i) trainer.trainStep();
        const auto masks = trainer.maskSnapshot();
        const auto weights = trainer.weightSnapshots();
        QCOMPARE(weights.size(), masks.size());
        for (size_t l = 0; l < weights.size(); ++l) {
            const auto& w = weights[l];
            QCOMPARE(w.name, masks[l].name);
            QCOMPARE(w.outFeatures, masks[l].outFeatures);
            QCOMPARE(w.fanIn, masks[l].fanIn);
            QCOMPARE(static_cast<int64_t>(w.values.size()), w.outFeatures * w.fanIn);
            const auto torchWeights = trainer.internals().layers[l].layer->denseWeightMatrix().contiguous();
            const float* p = torchWeights.data_ptr<float>();
            int64_t nonzeroOutside = 0;
            for (int64_t i = 0; i < w.outFeatures * w.fanIn; ++i) {
                QCOMPARE(w.values[static_cast<size_t>(i)], p[i]);
                if (!bitAt(masks[l], i) && w.values[static_cast<size_t>(i)] != 0.0f) ++nonzeroOutside;
            }
            QCOMPARE(nonzeroOutside, int64_t(0));
        }
        const auto one = trainer.weightSnapshot(weights[0].name);
        QVERIFY(one.values == weights[0].values);
        try {
            trainer.weightSnapshot("nope");
            QFAIL("no error for an unknown layer");
        } catch (const ConfigError& e) {
            QVERIFY2(std::string(e.what()).find(weights[0].name) != std::string::npos, e.what());
        }
    });
}

// A condensed layer beyond the trainer's limits (lowered here: fc1 of 32 x 784 stands for huge-mlp-99's
// fc2) is recorded end to end as a sample of whole rows without its weights, while the layers within
// them keep masks and weights paired as before.
void TestWeights::sampledLayerIsRecordedWithoutItsWeights() {
    struct Restore {
        DenseFormLimits saved = denseFormLimits();
        ~Restore() { denseFormLimits() = saved; }
    } restore;
    guarded([&] {
        denseFormLimits().snapshot = 1024;       // fc1's 25088 weights are left out, fc2's 512 are not
        denseFormLimits().mask = 784 * 5 + 100;  // five rows of fc1: every 7th of its 32 neurons
        RunConfig c = tinyRun();
        c.sparse_compute = "condensed";
        Trainer trainer(c);
        for (int i = 0; i < 3; ++i) trainer.trainStep();
        QTemporaryDir dir;
        const std::string path = dir.filePath("runs.db").toStdString();
        int64_t id = 0;
        {
            RunStore store(path);
            id = store.createRun(newRun("sampled"));
        }
        {
            Recorder rec(path, id, [&] { return trainer.maskSnapshot(); });
            rec.setWeightSource([&] { return trainer.weightSnapshots(); });
            rec.onStart(trainer.layerStats(), 100);
            QCOMPARE(rec.close(), std::string());
        }
        const LayerMaskSnapshot live = trainer.maskSnapshot().front();
        QCOMPARE(live.rowStride, int64_t(7));
        RunStore store(path, RunStore::Mode::ReadOnly);
        const auto fc1 = store.masks(id, "fc1");
        QCOMPARE(fc1.size(), size_t(1));
        QCOMPARE(fc1[0].mask.rowStride, int64_t(7));
        QCOMPARE(fc1[0].mask.outFeatures, int64_t(5));
        QCOMPARE(fc1[0].mask.layerRows(), int64_t(32));
        QCOMPARE(fc1[0].stats.outFeatures, int64_t(32)); // the layer's statistics are the whole layer's
        QVERIFY(fc1[0].mask.bits == live.bits);
        QVERIFY(fc1[0].mask.ablated == live.ablated);
        QVERIFY_EXCEPTION_THROWN(weightHistory(store, id, "fc1"), StoreError); // no weights beyond the limit
        const auto fc2 = weightHistory(store, id, "fc2");
        QCOMPARE(fc2.size(), size_t(1));
        QCOMPARE(fc2[0].mask.rowStride, int64_t(1));
        QCOMPARE(fc2[0].weights.outFeatures, int64_t(16));
    });
}

void TestWeights::heatmapSymmetricAroundZeroWithMaskedBackground() {
    guarded([&] {
        // 2 x 3: -1, 0 (inside the mask), 0.5 / 1, masked out, -0.5.
        LayerWeightSnapshot w;
        w.name = "tiny";
        w.outFeatures = 2;
        w.fanIn = 3;
        w.values = {-1.0f, 0.0f, 0.5f, 1.0f, 0.0f, -0.5f};
        LayerMaskSnapshot m;
        m.name = "tiny";
        m.outFeatures = 2;
        m.fanIn = 3;
        m.bits = {0b101111}; // entry 4 is outside the mask
        WeightRenderOptions o;
        o.colormap = "jet";
        o.minSide = 6; // 2 pixels per entry
        const auto img = renderWeights(w, &m, o);
        QCOMPARE(img.width, 6);
        QCOMPARE(img.height, 4);
        const int jet = colormapId("jet");
        QCOMPARE(pixel(img, 0, 0), mapColour(jet, 0));     // -max
        QCOMPARE(pixel(img, 2, 0), mapColour(jet, 128));   // zero sits in the middle
        QCOMPARE(pixel(img, 0, 2), mapColour(jet, 255));   // +max
        QCOMPARE(pixel(img, 4, 0), mapColour(jet, 191));   // +0.5
        QCOMPARE(pixel(img, 2, 2), cv::Vec3b(40, 40, 40)); // outside the mask
        // A fixed range: 0.5 is then the top of the map.
        o.low = -0.5;
        o.high = 0.5;
        const auto fixed = renderWeights(w, &m, o);
        QCOMPARE(pixel(fixed, 4, 0), mapColour(jet, 255));
        QCOMPARE(pixel(fixed, 0, 0), mapColour(jet, 0)); // clamped
        // Without a mask every entry is drawn.
        const auto all = renderWeights(w, nullptr, o);
        QCOMPARE(pixel(all, 2, 2), mapColour(jet, 128));
        // A mask of another shape is refused.
        m.fanIn = 4;
        QVERIFY_THROWS_EXCEPTION(StoreError, renderWeights(w, &m, o));
    });
}

void TestWeights::heatmapBadColormapNamesChoices() {
    try {
        colormapId("rainbowish");
        QFAIL("no error for an unknown colour map");
    } catch (const StoreError& e) {
        const std::string msg = e.what();
        QVERIFY2(msg.find("rainbowish") != std::string::npos && msg.find("viridis") != std::string::npos, e.what());
    }
    QCOMPARE(colormapNames().size(), size_t(22));
    QCOMPARE(colormapId("twilight_shifted"), int(cv::COLORMAP_TWILIGHT_SHIFTED));
    QCOMPARE(colormapId("turbo"), int(cv::COLORMAP_TURBO));
}

void TestWeights::heatmapVideoWritten() {
    guarded([&] {
        QTemporaryDir dir;
        std::vector<LayerWeightSnapshot> frames;
        std::vector<LayerMaskSnapshot> masks;
        for (uint32_t i = 0; i < 3; ++i) {
            masks.push_back(randomMask("fc1", 40, 60, i));
            frames.push_back(weightsFor(masks.back(), 10 + i));
        }
        const std::string path = dir.filePath("w.avi").toStdString();
        writeWeightVideo(path, frames, masks);
        QVERIFY(QFile(QString::fromStdString(path)).size() > 1000);
        QVERIFY_THROWS_EXCEPTION(StoreError, writeWeightVideo(path, {}, {}));
        masks.pop_back();
        QVERIFY_THROWS_EXCEPTION(StoreError, writeWeightVideo(path, frames, masks));
    });
}

QTEST_GUILESS_MAIN(TestWeights)
#include "test_weights.moc"
