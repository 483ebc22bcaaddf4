// The mask inspector's GL-free logic: the picture's colours for kept, pruned, regrown, inactive and
// ablated entries from known masks; fan-in per neuron and the neurons that differ from k; stored
// weights looked up in mask order; hit testing under zoom and pan, also across the textures a large
// layer is cut into; Fit filling the view with non-square cells and blocks of connections, the block
// under a point (the one MaskBlocks counts), zooming back to single connections; with OpenGL (run
// under xvfb-run with QT_QPA_PLATFORM=xcb, skipped offscreen) the inspector drawn at Fit and as
// neuron tiles, grabbed to PNGs, and a click on a tile; the bounded store reads of one
// layer at one step (and their loading off the UI thread); the weight heatmap's range and log scale.
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"
#include "widgets/inspector/mask_inspection.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/inspector/mask_inspector_widget.hpp"
#include "widgets/inspector/mask_tiles.hpp"
#include "widgets/inspector/live_frame_source.hpp"
#include "widgets/inspector/mask_viewport.hpp"
#include "widgets/inspector/snapshot_reads.hpp"
#include "widgets/inspector/snapshot_source.hpp"
#include "widgets/heatmap/weight_heatmap.hpp"
#include "sessions/mask/mask_blocks.hpp"
#include "widgets/logic/mask_fit.hpp"

#include "tests/support/guarded.hpp"
#include "tests/support/hand_masks.hpp"

#include <QImage>
#include <QMouseEvent>
#include <QWheelEvent>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

// A mask from rows of '1' / '0' characters (row = neuron).
LayerMaskSnapshot maskOf(const std::vector<std::string>& rows, std::vector<int64_t> ablated = {},
                         const std::string& name = "fc1") {
    LayerMaskSnapshot m;
    m.name = name;
    m.outFeatures = static_cast<int64_t>(rows.size());
    m.fanIn = static_cast<int64_t>(rows.front().size());
    m.bits.assign(static_cast<size_t>((m.outFeatures * m.fanIn + 7) / 8), 0);
    for (int64_t r = 0; r < m.outFeatures; ++r)
        for (int64_t c = 0; c < m.fanIn; ++c)
            if (rows[static_cast<size_t>(r)][static_cast<size_t>(c)] == '1') {
                const int64_t i = r * m.fanIn + c;
                m.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
            }
    m.ablated = std::move(ablated);
    return m;
}

bool pixelIs(const std::vector<uint8_t>& rgba, int64_t cols, int64_t r, int64_t c, const uint8_t colour[3]) {
    const size_t p = static_cast<size_t>(r * cols + c) * 4;
    return rgba[p] == colour[0] && rgba[p + 1] == colour[1] && rgba[p + 2] == colour[2] && rgba[p + 3] == 255;
}

// fc1 of LeNet-300-100 after an update, shaped like a trained one: 300 neurons x 784 inputs (28 x 28
// pixels), k = 78 each, drawn towards the image's centre as DST leaves MNIST's border pixels
// unconnected; 20 of each neuron's connections moved since `previous`; neurons 40 to 42 ablated.
std::pair<LayerMaskSnapshot, LayerMaskSnapshot> fc1Update() {
    const int64_t rows = 300, cols = 784, k = 78, moved = 20;
    std::vector<std::string> before(rows, std::string(cols, '0')), now = before;
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<std::pair<double, int64_t>> keyed(cols);
    for (int64_t r = 0; r < rows; ++r) {
        if (r >= 40 && r <= 42) continue;
        // Weighted sampling without replacement (Efraimidis-Spirakis): the largest u^(1/w) win.
        for (int64_t c = 0; c < cols; ++c) {
            const double dx = static_cast<double>(c % 28) - 13.5, dy = static_cast<double>(c / 28) - 13.5;
            const double w = std::exp(-(dx * dx + dy * dy) / (2.0 * 6.0 * 6.0)) + 1e-3;
            keyed[static_cast<size_t>(c)] = {std::pow(uniform(rng), 1.0 / w), c};
        }
        std::sort(keyed.begin(), keyed.end(), std::greater<>());
        for (int64_t j = 0; j < k; ++j)
            before[static_cast<size_t>(r)][static_cast<size_t>(keyed[static_cast<size_t>(j)].second)] = '1';
        for (int64_t j = moved; j < k + moved; ++j)
            now[static_cast<size_t>(r)][static_cast<size_t>(keyed[static_cast<size_t>(j)].second)] = '1';
    }
    return {maskOf(now, {40, 41, 42}), maskOf(before)};
}

MaskRecord record(int64_t step, LayerMaskSnapshot mask, int64_t k, int64_t pruned = 0, int64_t regrown = 0) {
    MaskRecord r;
    r.step = step;
    r.stats.name = mask.name;
    r.stats.outFeatures = mask.outFeatures;
    r.stats.fanIn = mask.fanIn;
    r.stats.k = k;
    r.stats.pruned = pruned;
    r.stats.regrown = regrown;
    r.mask = std::move(mask);
    return r;
}

} // namespace

class TestMaskInspector : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void liveFramesPickTheLayerAndSmallOnesComeAtOnce();
    void pictureColoursEveryConnectionState();
    void diffCountsMatchTheMasks();
    void firstSnapshotHasNothingPrunedOrRegrown();
    void fanInBarsCountEveryNeuron();
    void neuronsThatDifferFromKAreMarked();
    void unstructuredLayersMarkOnlyInconsistentAblations();
    void largeLayerHasExactlyKEverywhere();
    void weightsAreLookedUpInMaskOrder();
    void hoverShowsTheStoredGradient();
    void inconsistentSnapshotsAreRefused();
    void hitTestingFollowsZoomAndPan();
    void zoomIsBounded();
    void sameShapeKeepsTheViewAndNewShapeFits();
    void tilesCoverALargeLayerExactlyOnce();
    void tilesKeepHitTestingRightUnderZoomAndPan();
    void tilingRefusesBadSizes();
    void fitFillsTheViewWithAggregatedCells();
    void hitTestingNamesTheBlockWhenAggregated();
    void zoomingInReturnsToSingleConnections();
    void fanInRowsFollowTheCells();
    void inspectorFillsTheViewAndDrawsNeuronTiles();
    void storeReadsOneLayerAtAStep();
    void storeReadsRefuseAMissingSnapshot();
    void sourceLoadsOffTheUiThread();
    void sourceReportsErrors();
    void heatmapRangeIsSymmetricOrMinMax();
    void heatmapLogScaleKeepsSignAndOrder();
    void heatmapRefusesBadInput();
};

void TestMaskInspector::pictureColoursEveryConnectionState() {
    // 3 neurons x 10 inputs: rows do not start on byte boundaries. Neuron 2 is ablated.
    const auto previous = maskOf({"1100000000", "0011000000", "0000000011"});
    const auto current = maskOf({"1010000000", "0011000000", "0000000000"}, {2});
    MaskInspection m(current, previous, 2);
    const auto rgba = m.rgba();
    const MaskPalette pal;
    QCOMPARE(rgba.size(), size_t(3 * 10 * 4));
    QVERIFY(pixelIs(rgba, 10, 0, 0, pal.active));   // kept
    QVERIFY(pixelIs(rgba, 10, 0, 1, pal.pruned));   // pruned
    QVERIFY(pixelIs(rgba, 10, 0, 2, pal.regrown));  // regrown
    QVERIFY(pixelIs(rgba, 10, 0, 3, pal.inactive)); // never active
    QVERIFY(pixelIs(rgba, 10, 1, 2, pal.active));
    QVERIFY(pixelIs(rgba, 10, 1, 3, pal.active));
    QVERIFY(pixelIs(rgba, 10, 2, 0, pal.ablatedRow)); // inactive entry of an ablated neuron
    QVERIFY(pixelIs(rgba, 10, 2, 8, pal.pruned));     // pruned wins over the ablated background
    QVERIFY(pixelIs(rgba, 10, 2, 9, pal.pruned));
    QCOMPARE(m.cell(0, 0), MaskInspection::Cell::Kept);
    QCOMPARE(m.cell(0, 1), MaskInspection::Cell::Pruned);
    QCOMPARE(m.cell(0, 2), MaskInspection::Cell::Regrown);
    QCOMPARE(m.cell(0, 3), MaskInspection::Cell::Inactive);
    // Every pixel is one of the palette's colours, and agrees with cell().
    for (int64_t r = 0; r < 3; ++r)
        for (int64_t c = 0; c < 10; ++c) {
            const uint8_t* want = pal.inactive;
            switch (m.cell(r, c)) {
            case MaskInspection::Cell::Kept: want = pal.active; break;
            case MaskInspection::Cell::Pruned: want = pal.pruned; break;
            case MaskInspection::Cell::Regrown: want = pal.regrown; break;
            default: want = m.ablated(r) ? pal.ablatedRow : pal.inactive;
            }
            QVERIFY2(pixelIs(rgba, 10, r, c, want), qPrintable(QStringLiteral("entry %1,%2").arg(r).arg(c)));
        }
}

void TestMaskInspector::diffCountsMatchTheMasks() {
    const auto previous = maskOf({"1100000", "0011000", "0000011"});
    const auto current = maskOf({"1010000", "0011000", "0000110"});
    MaskInspection m(current, previous, 2);
    QCOMPARE(m.kept(), int64_t(4));    // (0,0) (1,2) (1,3) (2,5)
    QCOMPARE(m.pruned(), int64_t(2));  // (0,1) (2,6)
    QCOMPARE(m.regrown(), int64_t(2)); // (0,2) (2,4)
    // The counts are a consistent diff: kept + regrown = now active, kept + pruned = before.
    QCOMPARE(m.kept() + m.regrown(), int64_t(6));
    QCOMPARE(m.kept() + m.pruned(), int64_t(6));
}

void TestMaskInspector::firstSnapshotHasNothingPrunedOrRegrown() {
    MaskInspection m(maskOf({"1100", "0110"}), std::nullopt, 2);
    QVERIFY(!m.hasPrevious());
    QCOMPARE(m.pruned(), int64_t(0));
    QCOMPARE(m.regrown(), int64_t(0));
    QCOMPARE(m.kept(), int64_t(4));
    QCOMPARE(m.cell(0, 0), MaskInspection::Cell::Kept);
}

void TestMaskInspector::fanInBarsCountEveryNeuron() {
    MaskInspection m(maskOf({"111000000000", "100000000001", "000000000000", "111111111111"}, {2}), std::nullopt, 3);
    QCOMPARE(m.fanIn(0), int64_t(3));
    QCOMPARE(m.fanIn(1), int64_t(2));
    QCOMPARE(m.fanIn(2), int64_t(0));
    QCOMPARE(m.fanIn(3), int64_t(12));
    QCOMPARE(m.maxFanIn(), int64_t(12));
    QVERIFY(m.ablated(2));
    QVERIFY(!m.ablated(0));
}

void TestMaskInspector::neuronsThatDifferFromKAreMarked() {
    // k = 2: neuron 2 has 3, neuron 3 (not ablated) has none, neuron 4 is ablated but keeps one.
    MaskInspection m(maskOf({"11000", "00011", "11100", "00000", "00100", "00000"}, {4, 5}), std::nullopt, 2);
    QCOMPARE(m.offenders(), (std::vector<int64_t>{2, 3, 4}));
    QVERIFY(!m.differs(0));
    QVERIFY(!m.differs(1));
    QVERIFY(m.differs(2));
    QVERIFY(m.differs(3));
    QVERIFY(m.differs(4));
    QVERIFY(!m.differs(5)); // ablated and empty: as it must be
}

void TestMaskInspector::unstructuredLayersMarkOnlyInconsistentAblations() {
    MaskInspection m(maskOf({"11100", "10000", "00000", "01000"}, {3}), std::nullopt, 0);
    QCOMPARE(m.offenders(), (std::vector<int64_t>{3}));
}

void TestMaskInspector::largeLayerHasExactlyKEverywhere() {
    // 4096 x 4096 at 90% sparsity, k = 409 per neuron at a different offset in each row, 16 ablated.
    const int64_t n = 4096, k = 409;
    LayerMaskSnapshot mask;
    mask.name = "big";
    mask.outFeatures = mask.fanIn = n;
    mask.bits.assign(static_cast<size_t>(n * n / 8), 0);
    for (int64_t r = 0; r < n; ++r) {
        if (r % 256 == 7) {
            mask.ablated.push_back(r);
            continue;
        }
        for (int64_t j = 0; j < k; ++j) {
            const int64_t i = r * n + (r * 13 + j * 10) % n;
            mask.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
        }
    }
    MaskInspection m(mask, std::nullopt, k);
    QVERIFY(m.offenders().empty());
    QCOMPARE(m.fanIn(0), k);
    QCOMPARE(m.fanIn(7), int64_t(0));
    QCOMPARE(m.kept(), (n - 16) * k);
    const auto rgba = m.rgba();
    QCOMPARE(rgba.size(), size_t(n * n * 4));
    QVERIFY(pixelIs(rgba, n, 1, 13, MaskPalette{}.active));
    QVERIFY(pixelIs(rgba, n, 7, 0, MaskPalette{}.ablatedRow));
}

void TestMaskInspector::weightsAreLookedUpInMaskOrder() {
    const auto mask = maskOf({"1010", "0000", "0111"}, {1});
    MaskInspection m(mask, std::nullopt, 0, std::vector<float>{1.5f, -2.0f, 3.0f, 4.0f, -5.0f});
    QVERIFY(m.hasWeights());
    QCOMPARE(*m.weight(0, 0), 1.5f);
    QCOMPARE(*m.weight(0, 2), -2.0f);
    QCOMPARE(*m.weight(2, 1), 3.0f);
    QCOMPARE(*m.weight(2, 3), -5.0f);
    QVERIFY(!m.weight(0, 1)); // inactive: no weight
    MaskInspection none(mask, std::nullopt, 0);
    QVERIFY(!none.weight(0, 0)); // not recorded: never invented
}

// Gradients are dense (growth reads the inactive entries too) and come from the store as recorded.
void TestMaskInspector::hoverShowsTheStoredGradient() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dir.filePath(QStringLiteral("runs.db")).toStdString();
        RunStore store(db);
        const int64_t id = store.createRun(NewRun{"grad", "{}", "test", "host", "cpu", "none", "rigl", "mlp", "synthetic", 1, 0.5});
        const auto m0 = maskOf({"1100", "0011"}), m100 = maskOf({"1010", "0011"});
        store.addMasks(id, {record(0, m0, 0), record(100, m100, 0, 1, 1)});
        const std::vector<float> grad{0.5f, -1e-6f, 3e-3f, 0.0f, -0.125f, 2.0f, -7.5f, 1e-4f};
        store.addGradients(id, {GradientRecord{100, "fc1", 2, 4, grad}});
        const auto stored = store.gradientValues(id, "fc1", 100);
        QCOMPARE(stored.size(), size_t(1));

        const InspectorFrame f = loadInspectorFrame(db, id, 150, "fc1");
        QCOMPARE(f.maskStep, int64_t(100));
        QVERIFY(f.inspection->hasGradients());
        for (int64_t r = 0; r < 2; ++r)
            for (int64_t c = 0; c < 4; ++c) {
                const auto g = f.inspection->gradient(r, c); // inactive entries have one too
                QVERIFY(g);
                QCOMPARE(*g, stored.front().values[static_cast<size_t>(r * 4 + c)]);
                QVERIFY(std::fabs(*g - grad[static_cast<size_t>(r * 4 + c)]) <= 7.5f * 1e-3f);
            }
        QVERIFY(!f.inspection->gradient(2, 0)); // outside the layer
        const InspectorFrame first = loadInspectorFrame(db, id, 0, "fc1");
        QVERIFY(!first.inspection->hasGradients()); // none recorded at step 0: never invented
        QVERIFY(!first.inspection->gradient(0, 0));

        MaskInspection m(m100, std::nullopt, 0);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, m.setGradients(std::vector<float>(7, 0.0f)));
        QVERIFY(!m.hasGradients());
    });
}

void TestMaskInspector::inconsistentSnapshotsAreRefused() {
    auto shortBits = maskOf({"1100", "0011"});
    shortBits.bits.clear();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MaskInspection(shortBits, std::nullopt, 2));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MaskInspection(maskOf({"1100", "0011"}), maskOf({"110", "011"}), 2));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MaskInspection(maskOf({"1100", "0011"}, {5}), std::nullopt, 2));
    // The same shape, but other sampled rows of a layer (LayerMaskSnapshot::rowStride): no reference.
    auto everyThird = maskOf({"1100", "0011"});
    everyThird.rowStride = 3;
    everyThird.layerOutFeatures = 6;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MaskInspection(everyThird, maskOf({"1100", "0011"}), 2));
    QCOMPARE(MaskInspection(everyThird, everyThird, 2).kept(), int64_t(4));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             MaskInspection(maskOf({"1100", "0011"}), std::nullopt, 2, std::vector<float>{1, 2, 3}));
    try {
        MaskInspection(maskOf({"1100", "0011"}), std::nullopt, 2, std::vector<float>{1, 2, 3});
    } catch (const std::invalid_argument& e) {
        QVERIFY2(QString(e.what()).contains("4 active connections but 3 stored weights"), e.what());
    }
}

void TestMaskInspector::hitTestingFollowsZoomAndPan() {
    MaskViewport v;
    v.setViewSize(QSizeF(200, 100));
    v.setContent(100, 50); // cols x rows
    QCOMPARE(v.zoom(), 2.0); // fits exactly
    QCOMPARE(v.origin(), QPointF(0, 0));
    QCOMPARE(v.hit(QPointF(5, 5)), std::optional<MaskEntry>(MaskEntry{2, 2}));
    QCOMPARE(v.hit(QPointF(199.5, 99.5)), std::optional<MaskEntry>(MaskEntry{49, 99}));
    QVERIFY(!v.hit(QPointF(-1, 5)));
    QVERIFY(!v.hit(QPointF(200, 5)));

    // Zooming keeps the entry under the cursor under it.
    const QPointF cursor(51, 21);
    const auto before = v.hit(cursor);
    QCOMPARE(before, std::optional<MaskEntry>(MaskEntry{10, 25}));
    v.zoomAt(cursor, 2.0);
    QCOMPARE(v.zoom(), 4.0);
    QCOMPARE(v.hit(cursor), before);
    QCOMPARE(v.hit(cursor + QPointF(4, 0)), std::optional<MaskEntry>(MaskEntry{10, 26}));
    QCOMPARE(v.hit(cursor + QPointF(0, 4)), std::optional<MaskEntry>(MaskEntry{11, 25}));

    // Panning by 40 screen pixels at 4 pixels per entry moves by 10 entries.
    v.panBy(QPointF(-40, 0));
    QCOMPARE(v.hit(cursor), std::optional<MaskEntry>(MaskEntry{10, 35}));
    QCOMPARE(v.rowAt(cursor.y()), int64_t(10));
    QCOMPARE(v.rowTop(10), v.origin().y() + 40.0);
    // Panned past the picture's edge: nothing under the cursor there.
    v.panBy(QPointF(1000, 0));
    QVERIFY(!v.hit(cursor));
    v.fit();
    QCOMPARE(v.hit(QPointF(5, 5)), std::optional<MaskEntry>(MaskEntry{2, 2}));
}

void TestMaskInspector::zoomIsBounded() {
    MaskViewport v;
    v.setViewSize(QSizeF(512, 512));
    v.setContent(4096, 4096);
    QCOMPARE(v.zoom(), 0.125);
    v.zoomAt(QPointF(100, 100), 1e9);
    QCOMPARE(v.zoom(), MaskViewport::kMaxZoom);
    v.zoomAt(QPointF(100, 100), 1e-9);
    QCOMPARE(v.zoom(), 0.125 / 4);
    v.zoomAt(QPointF(100, 100), 0.0); // ignored
    QCOMPARE(v.zoom(), 0.125 / 4);
}

void TestMaskInspector::sameShapeKeepsTheViewAndNewShapeFits() {
    MaskViewport v;
    v.setViewSize(QSizeF(300, 100));
    v.setContent(300, 100);
    v.zoomAt(QPointF(10, 10), 3.0);
    const double z = v.zoom();
    const QPointF o = v.origin();
    v.setContent(300, 100); // the next step of the same layer
    QCOMPARE(v.zoom(), z);
    QCOMPARE(v.origin(), o);
    v.setContent(784, 300); // another layer
    QCOMPARE(v.zoom(), std::min(300.0 / 784, 100.0 / 300));
}

void TestMaskInspector::storeReadsOneLayerAtAStep() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dir.filePath(QStringLiteral("runs.db")).toStdString();
        RunStore store(db);
        const int64_t id = store.createRun(NewRun{"inspect", "{}", "test", "host", "cpu", "none", "srigl", "mlp", "synthetic", 1, 0.5});
        const auto m0 = maskOf({"1100", "0011"}, {}, "fc1");
        const auto m100 = maskOf({"1010", "0011"}, {}, "fc1");
        const auto m200 = maskOf({"0110", "0011"}, {}, "fc1");
        const auto g0 = maskOf({"10", "01", "11"}, {}, "fc2");
        store.addMasks(id, {record(0, m0, 2), record(0, g0, 1)});
        store.addMasks(id, {record(100, m100, 2, 1, 1), record(100, g0, 1)});
        store.addMasks(id, {record(200, m200, 2, 1, 1)});
        store.addWeightValues(id, {WeightValuesRecord{100, "fc1", {0.5f, -0.25f, 1.0f, 2.0f}}});

        QCOMPARE(maskSteps(store, id), (std::vector<int64_t>{0, 100, 200}));
        QCOMPARE(maskLayers(store, id), (std::vector<std::string>{"fc1", "fc2"}));

        const LayerAtStep at = layerAtStep(store, id, "fc1", 150);
        QCOMPARE(at.current.step, int64_t(100));
        QVERIFY(at.current.mask.bits == m100.bits);
        QVERIFY(at.previous);
        QCOMPARE(at.previous->step, int64_t(0));
        QVERIFY(at.previous->mask.bits == m0.bits);
        QVERIFY(at.weights);
        QCOMPARE(at.weights->at(1), -0.25f);
        QVERIFY(!layerAtStep(store, id, "fc1", 200).weights); // not recorded at 200: none

        // The whole frame: first layer for an unknown name, the picture, and a diff that agrees with
        // the recorded pruned/regrown counts.
        const InspectorFrame f = loadInspectorFrame(db, id, 200, "");
        QCOMPARE(f.layer, std::string("fc1"));
        QCOMPARE(f.maskStep, int64_t(200));
        QCOMPARE(f.inspection->pruned(), f.stats.pruned);
        QCOMPARE(f.inspection->regrown(), f.stats.regrown);
        QCOMPARE(f.rgba.size(), size_t(2 * 4 * 4));
        const InspectorFrame g = loadInspectorFrame(db, id, 100, "fc1");
        QCOMPARE(*g.inspection->weight(0, 2), -0.25f);
        const InspectorFrame h = loadInspectorFrame(db, id, 250, "fc2"); // fc2 last recorded at 100
        QCOMPARE(h.maskStep, int64_t(100));
        QCOMPARE(h.inspection->pruned(), int64_t(0));
    });
}

void TestMaskInspector::storeReadsRefuseAMissingSnapshot() {
    QTemporaryDir dir;
    const std::string db = dir.filePath(QStringLiteral("runs.db")).toStdString();
    RunStore store(db);
    const int64_t id = store.createRun(NewRun{"empty", "{}", "test", "host", "cpu", "none", "srigl", "mlp", "synthetic", 1, 0.5});
    QVERIFY(maskSteps(store, id).empty());
    QVERIFY_THROWS_EXCEPTION(StoreError, loadInspectorFrame(db, id, 0, ""));
    store.addMasks(id, {record(100, maskOf({"11", "01"}), 0)});
    QVERIFY_THROWS_EXCEPTION(StoreError, layerAtStep(store, id, "fc1", 99));
    QVERIFY_THROWS_EXCEPTION(StoreError, layerAtStep(store, id, "nope", 100));
}

void TestMaskInspector::sourceLoadsOffTheUiThread() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    int64_t id = 0;
    {
        RunStore store(db.toStdString());
        id = store.createRun(NewRun{"src", "{}", "test", "host", "cpu", "none", "srigl", "mlp", "synthetic", 1, 0.5});
        store.addMasks(id, {record(0, maskOf({"1100", "0011"}, {}, "a"), 2), record(0, maskOf({"11", "01"}, {}, "b"), 0)});
    }
    StoreReader reader;
    SnapshotSource source(reader);
    source.setDatabase(db);
    QSignalSpy ready(&source, &SnapshotSource::frameReady);
    source.showRunStep(id, 0);
    QVERIFY(source.loading()); // asynchronous: the call returned before the load finished
    QVERIFY(ready.wait(10000));
    auto frame = ready.takeFirst().at(0).value<std::shared_ptr<const InspectorFrame>>();
    QCOMPARE(frame->layer, std::string("a"));
    source.setLayer(QStringLiteral("b"));
    QVERIFY(ready.wait(10000));
    frame = ready.takeFirst().at(0).value<std::shared_ptr<const InspectorFrame>>();
    QCOMPARE(frame->layer, std::string("b"));
    QCOMPARE(frame->inspection->fanIn(1), int64_t(1));
}

void TestMaskInspector::sourceReportsErrors() {
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    RunStore(db.toStdString()); // an empty database
    StoreReader reader;
    SnapshotSource source(reader);
    source.setDatabase(db);
    QSignalSpy failed(&source, &SnapshotSource::failed);
    source.showRunStep(42, 0);
    QVERIFY(failed.wait(10000));
    QVERIFY2(failed.first().at(0).toString().contains("42"), qPrintable(failed.first().at(0).toString()));
}

void TestMaskInspector::heatmapRangeIsSymmetricOrMinMax() {
    guarded([] {
        const auto mask = maskOf({"1100", "0011"});
        const std::vector<float> w{-0.5f, 0.25f, 1.0f, 0.125f};
        HeatmapOptions o;
        HeatmapImage sym = renderHeatmap(mask, w, o);
        QCOMPARE(sym.low, -1.0);
        QCOMPARE(sym.high, 1.0);
        o.symmetric = false;
        HeatmapImage mm = renderHeatmap(mask, w, o);
        QCOMPARE(mm.low, -0.5);
        QCOMPARE(mm.high, 1.0);
        // Entries outside the mask keep the renderer's background colour; the image is the layer's
        // aspect, magnified.
        QVERIFY(mm.image.width > 0 && mm.image.height > 0);
        QCOMPARE(mm.image.width, 2 * mm.image.height);
        const auto px = [&](int x, int y) { return &mm.image.pixels[static_cast<size_t>((y * mm.image.width + x) * 3)]; };
        const uint8_t* inactive = px(mm.image.width * 5 / 8, mm.image.height / 4); // entry (0, 2)
        QCOMPARE(int(inactive[0]), 40);
        QCOMPARE(int(inactive[1]), 40);
        const uint8_t* low = px(mm.image.width / 8, mm.image.height / 4);      // (0,0) = -0.5: the map's low end
        const uint8_t* high = px(mm.image.width * 5 / 8, mm.image.height * 3 / 4); // (1,2) = 1.0: the high end
        QVERIFY(low[0] != high[0] || low[1] != high[1] || low[2] != high[2]);
        // Another colour map gives other colours for the same weights.
        o.colormap = "jet";
        HeatmapImage jet = renderHeatmap(mask, w, o);
        QVERIFY(jet.image.pixels != mm.image.pixels);
    });
}

void TestMaskInspector::heatmapLogScaleKeepsSignAndOrder() {
    QCOMPARE(heatmapValue(0.0, 1.0, true), 0.0);
    QCOMPARE(heatmapValue(0.3, 1.0, false), 0.3);
    QVERIFY(heatmapValue(-0.5, 1.0, true) < 0);
    QCOMPARE(heatmapValue(-0.5, 1.0, true), -heatmapValue(0.5, 1.0, true));
    // Monotonic, and small weights are spread out: 0.001 and 0.01 differ by more than 0.5 and 1.0.
    double last = -1e9;
    for (double x : {-1.0, -0.1, -0.001, 0.0, 0.001, 0.01, 0.5, 1.0}) {
        const double t = heatmapValue(x, 1.0, true);
        QVERIFY(t > last);
        last = t;
    }
    QVERIFY(heatmapValue(0.01, 1.0, true) - heatmapValue(0.001, 1.0, true) >
            heatmapValue(1.0, 1.0, true) - heatmapValue(0.5, 1.0, true));
    guarded([] {
        HeatmapOptions o;
        o.logScale = true;
        const HeatmapImage h = renderHeatmap(maskOf({"11"}), {-1.0f, 0.5f}, o);
        QCOMPARE(h.high, heatmapValue(1.0, 1.0, true));
        QCOMPARE(h.low, -h.high);
    });
}

void TestMaskInspector::heatmapRefusesBadInput() {
    HeatmapOptions o;
    o.colormap = "no-such-map";
    QVERIFY_THROWS_EXCEPTION(StoreError, renderHeatmap(maskOf({"11"}), {1.0f, 2.0f}, o));
    QVERIFY_THROWS_EXCEPTION(StoreError, renderHeatmap(maskOf({"11"}), {1.0f}, HeatmapOptions{}));
}

void TestMaskInspector::tilesCoverALargeLayerExactlyOnce() {
    // 2500 x 1100 entries with textures of at most 1024: 3 x 2 tiles, the last ones shorter.
    const int64_t cols = 2500, rows = 1100, side = 1024;
    const auto tiles = tileMask(cols, rows, side);
    QCOMPARE(tiles.size(), size_t(6));
    QCOMPARE(tiles.front(), (MaskTile{0, 0, 1024, 1024}));
    QCOMPARE(tiles[2], (MaskTile{2048, 0, 452, 1024}));
    QCOMPARE(tiles.back(), (MaskTile{2048, 1024, 452, 76}));
    // Every entry is in exactly one tile, the one tileIndexOf names, and no tile is too large.
    std::vector<int> covered(static_cast<size_t>(cols * rows), 0);
    for (size_t i = 0; i < tiles.size(); ++i) {
        const MaskTile& t = tiles[i];
        QVERIFY(t.cols >= 1 && t.cols <= side && t.rows >= 1 && t.rows <= side);
        for (int64_t r = t.row0; r < t.row0 + t.rows; ++r)
            for (int64_t c = t.col0; c < t.col0 + t.cols; ++c) {
                ++covered[static_cast<size_t>(r * cols + c)];
                if ((r % 97 == 0 && c % 13 == 0) || r == t.row0 || c == t.col0)
                    QCOMPARE(tileIndexOf(cols, rows, side, r, c), static_cast<int64_t>(i));
            }
    }
    QVERIFY(std::all_of(covered.begin(), covered.end(), [](int n) { return n == 1; }));
    QCOMPARE(tileIndexOf(cols, rows, side, rows, 0), int64_t(-1));
    QCOMPARE(tileIndexOf(cols, rows, side, 0, -1), int64_t(-1));
    // A layer that fits is one texture; an empty one none.
    QCOMPARE(tileMask(300, 100, 16384), (std::vector<MaskTile>{MaskTile{0, 0, 300, 100}}));
    QVERIFY(tileMask(0, 100, 16384).empty());
    // Exact multiples leave no empty tile behind.
    QCOMPARE(tileMask(2048, 1024, 1024).size(), size_t(2));
}

void TestMaskInspector::tilesKeepHitTestingRightUnderZoomAndPan() {
    // 100 x 50 entries cut into tiles of at most 16: the tile drawn under a screen point holds the
    // entry hit testing finds there, at the same place inside the tile, zoomed out, in and panned.
    const int64_t cols = 100, rows = 50, side = 16;
    const auto tiles = tileMask(cols, rows, side);
    MaskViewport v;
    v.setViewSize(QSizeF(200, 100));
    v.setContent(cols, rows);
    // QCOMPARE returns from the lambda on failure: the caller looks at currentTestFailed().
    auto check = [&](int& hits) {
        hits = 0;
        for (double y = 0.5; y < 100; y += 3.7)
            for (double x = 0.5; x < 200; x += 5.3) {
                const QPointF p(x, y);
                const auto entry = v.hit(p);
                int drawnUnder = -1;
                for (size_t i = 0; i < tiles.size(); ++i) {
                    const MaskTile& t = tiles[i];
                    const QRectF r = v.screenRect(t.col0, t.row0, t.cols, t.rows);
                    if (p.x() >= r.left() && p.x() < r.right() && p.y() >= r.top() && p.y() < r.bottom()) {
                        QCOMPARE(drawnUnder, -1); // tiles never overlap on screen
                        drawnUnder = static_cast<int>(i);
                        if (!entry) continue;
                        // The texel under p in this tile is the entry hit testing reports.
                        QCOMPARE(t.col0 + static_cast<int64_t>(std::floor((p.x() - r.left()) / v.zoom())), entry->col);
                        QCOMPARE(t.row0 + static_cast<int64_t>(std::floor((p.y() - r.top()) / v.zoom())), entry->row);
                    }
                }
                if (!entry) {
                    QCOMPARE(drawnUnder, -1); // nothing drawn where there is no entry
                    continue;
                }
                QCOMPARE(drawnUnder, static_cast<int>(tileIndexOf(cols, rows, side, entry->row, entry->col)));
                ++hits;
            }
    };
    int hits = 0;
    check(hits);
    QVERIFY(!QTest::currentTestFailed() && hits > 100);
    v.zoomAt(QPointF(61, 33), 3.0);
    check(hits);
    QVERIFY(!QTest::currentTestFailed() && hits > 100);
    v.panBy(QPointF(-37.5, 12.25));
    check(hits);
    QVERIFY(!QTest::currentTestFailed() && hits > 50);
    v.zoomAt(QPointF(10, 10), 0.3); // zoomed out below fit: the picture is smaller than the view
    check(hits);
    QVERIFY(!QTest::currentTestFailed() && hits > 10);
}

void TestMaskInspector::tilingRefusesBadSizes() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tileMask(10, 10, 0));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tileMask(-1, 10, 16));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tileIndexOf(10, 10, -4, 0, 0));
}

// fc1 (784 inputs, 300 neurons) in a tall 560 x 800 view: pairs of inputs per cell, the picture fills
// the view (old Fit: a 560 x 214 band), cells are not square but within 1:4 .. 4:1.
void TestMaskInspector::fitFillsTheViewWithAggregatedCells() {
    MaskViewport v;
    v.setViewSize(QSizeF(560, 800));
    v.setContent(784, 300);
    QVERIFY(v.fitted());
    QVERIFY(!v.exact());
    QCOMPARE(v.colsPerCell(), int64_t(2));
    QCOMPARE(v.rowsPerCell(), int64_t(1));
    QCOMPARE(v.gridCols(), int64_t(392));
    const QRectF picture = v.pictureRect();
    QVERIFY(QRectF(0, 0, 560, 800).adjusted(-1e-6, -1e-6, 1e-6, 1e-6).contains(picture));
    QVERIFY(picture.width() * picture.height() >= 0.8 * 560 * 800);
    const double aspect = v.cellWidth() / v.cellHeight();
    QVERIFY(aspect >= 0.25 && aspect <= 4.0);
    QVERIFY(v.zoomX() != v.zoomY()); // non-square connections
    // A wide dock shows it exactly, still filling it.
    v.setViewSize(QSizeF(1000, 400));
    QVERIFY(v.fitted() && v.exact());
    QVERIFY(v.pictureRect().width() * v.pictureRect().height() >= 0.8 * 1000 * 400);
    // Panned, then resized: no longer fitted, the view is kept.
    v.panBy(QPointF(10, 0));
    v.setViewSize(QSizeF(560, 800));
    QVERIFY(!v.fitted());
    v.fit();
    QCOMPARE(v.colsPerCell(), int64_t(2));
}

// 785 inputs x 301 neurons in 300 x 200: cells of 2 neurons x 3 inputs, the last column of cells
// holds 2 inputs and the last row 1 neuron. Every point of the picture names the cell that holds it,
// which is the block MaskBlocks counts for the same factors.
void TestMaskInspector::hitTestingNamesTheBlockWhenAggregated() {
    const int64_t cols = 785, rows = 301;
    MaskViewport v;
    v.setViewSize(QSizeF(300, 200));
    v.setContent(cols, rows);
    QCOMPARE(v.colsPerCell(), int64_t(3));
    QCOMPARE(v.rowsPerCell(), int64_t(2));
    QCOMPARE(v.gridCols(), int64_t(262));
    QCOMPARE(v.gridRows(), int64_t(151));
    std::vector<std::string> text(rows, std::string(cols, '0'));
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = (r * 7) % 5; c < cols; c += 5) text[static_cast<size_t>(r)][static_cast<size_t>(c)] = '1';
    const LayerMaskSnapshot mask = maskOf(text);
    const MaskBlocks blocks(mask, nullptr, v.rowsPerCell(), v.colsPerCell());
    int hits = 0;
    for (double y = 0.25; y < 200; y += 1.9)
        for (double x = 0.25; x < 300; x += 2.3) {
            const QPointF p(x, y);
            const auto cell = v.hitCell(p);
            if (!v.pictureRect().contains(p)) {
                QVERIFY(!cell);
                continue;
            }
            QVERIFY(cell);
            ++hits;
            const int64_t gc = cell->col0 / v.colsPerCell(), gr = cell->row0 / v.rowsPerCell();
            QCOMPARE(cell->col0 % v.colsPerCell(), int64_t(0));
            QVERIFY(v.cellsRect(gc, gr, 1, 1).contains(p)); // drawn where it is hit
            const MaskBlock b = blocks.block(gr, gc);
            QCOMPARE(cell->row0, b.row0);
            QCOMPARE(cell->rows, b.rows);
            QCOMPARE(cell->col0, b.col0);
            QCOMPARE(cell->cols, b.cols);
            QCOMPARE(v.hit(p), std::optional<MaskEntry>(MaskEntry{b.row0, b.col0}));
            // The tooltip's count: the block's active connections, as in the mask.
            int64_t active = 0;
            for (int64_t r = b.row0; r < b.row0 + b.rows; ++r)
                for (int64_t c = b.col0; c < b.col0 + b.cols; ++c)
                    active += text[static_cast<size_t>(r)][static_cast<size_t>(c)] == '1';
            QCOMPARE(b.active(), active);
        }
    QVERIFY(hits > 5000);
    // The last cells: clipped to the layer.
    const QRectF last = v.cellsRect(261, 150, 1, 1);
    const auto corner = v.hitCell(last.center());
    QVERIFY(corner);
    QCOMPARE(*corner, (MaskCell{300, 783, 1, 2}));
    QVERIFY(!v.hitCell(QPointF(-1, 10)));
}

// From Fit (blocks of inputs) the wheel zooms in around the cursor: the connection under it stays
// under it, inside the block under it while aggregated, and single connections come back once each
// has a pixel; zooming out aggregates again, and Fit restores Fit's factors.
void TestMaskInspector::zoomingInReturnsToSingleConnections() {
    MaskViewport v;
    v.setViewSize(QSizeF(560, 800));
    v.setContent(4096, 4096);
    QCOMPARE(v.colsPerCell(), int64_t(8));
    QCOMPARE(v.rowsPerCell(), int64_t(6));
    const QPointF cursor(301.3, 417.9);
    const double cx = (cursor.x() - v.origin().x()) / v.zoomX(), cy = (cursor.y() - v.origin().y()) / v.zoomY();
    const auto entry = MaskEntry{static_cast<int64_t>(std::floor(cy)), static_cast<int64_t>(std::floor(cx))};
    int steps = 0;
    while (!v.exact() && steps < 100) {
        const auto cell = v.hitCell(cursor);
        QVERIFY(cell);
        QVERIFY(entry.row >= cell->row0 && entry.row < cell->row0 + cell->rows);
        QVERIFY(entry.col >= cell->col0 && entry.col < cell->col0 + cell->cols);
        QVERIFY(v.cellWidth() >= 1.0 - 1e-9 && v.cellHeight() >= 1.0 - 1e-9); // a cell is never under a pixel
        v.zoomAt(cursor, 1.25);
        ++steps;
    }
    QVERIFY(v.exact());
    QVERIFY(v.zoomX() >= 1.0 && v.zoomY() >= 1.0);
    QCOMPARE(v.hit(cursor), std::optional<MaskEntry>(entry));
    QCOMPARE(*v.hitCell(cursor), (MaskCell{entry.row, entry.col, 1, 1}));
    // Further in: still the same connection, up to kMaxZoom on each axis.
    v.zoomAt(cursor, 1e6);
    QCOMPARE(v.zoomX(), MaskViewport::kMaxZoom);
    QCOMPARE(v.zoomY(), MaskViewport::kMaxZoom);
    QCOMPARE(v.hit(cursor), std::optional<MaskEntry>(entry));
    v.zoomAt(cursor, 1e-6); // out to a quarter of Fit: blocks four times as large
    QVERIFY(!v.exact());
    QVERIFY(v.colsPerCell() > 3 * 8 && v.rowsPerCell() > 3 * 6);
    v.fit();
    QCOMPARE(v.colsPerCell(), int64_t(8));
    QCOMPARE(v.rowsPerCell(), int64_t(6));
}

// The fan-in bars and the red ticks sit on the matrix's cells: one bar per block of neurons.
void TestMaskInspector::fanInRowsFollowTheCells() {
    MaskViewport v;
    v.setViewSize(QSizeF(400, 100));
    v.setContent(100, 300); // 3 neurons per cell
    QCOMPARE(v.rowsPerCell(), int64_t(3));
    for (int64_t r : {0, 1, 2, 3, 157, 299}) {
        const int64_t first = r / 3 * 3;
        QCOMPARE(v.rowTop(r), v.rowTop(first));
        QCOMPARE(v.rowAt(v.rowTop(r) + v.cellHeight() / 2), first);
        QVERIFY(std::fabs(v.rowTop(first + 3) - v.rowTop(first) - v.cellHeight()) < 1e-9);
    }
    QCOMPARE(v.rowAt(v.origin().y() - 0.5), int64_t(-3)); // above the picture
}

// With OpenGL only: the inspector on fc1 at Fit fills its picture area (every pixel there is a cell,
// not the background), the header's aggregation is the viewport's, and in tile view a click on a
// neuron's tile asks for that neuron. The grabs are saved next to the build:
// build/inspector_fit_300x784.png and build/inspector_tiles_300x784.png.
void TestMaskInspector::inspectorFillsTheViewAndDrawsNeuronTiles() {
    if (!ImGuiGlWidget::openGlAvailable()) QSKIP("needs OpenGL (xvfb-run with QT_QPA_PLATFORM=xcb)");
    auto [now, before] = fc1Update();
    auto frame = std::make_shared<InspectorFrame>();
    frame->runId = 1;
    frame->step = frame->maskStep = 100;
    frame->layer = "fc1";
    frame->layers = {"fc1", "fc2"};
    auto inspection = std::make_shared<MaskInspection>(now, before, 78);
    frame->rgba = inspection->rgba();
    frame->inspection = inspection;
    MaskInspectorWidget w;
    w.resize(900, 640);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.setFrame(frame);
    QTRY_VERIFY_WITH_TIMEOUT(w.textureCount() > 0, 30000);
    QTRY_VERIFY_WITH_TIMEOUT(w.pictureArea().width() > 100, 10000);
    QTest::qWait(200);
    const MaskViewport& v = w.viewport();
    QVERIFY(v.fitted());
    QCOMPARE(v.viewSize(), w.pictureArea().size());
    const QImage fit = w.grab().toImage().convertToFormat(QImage::Format_RGB32);
    const QRect area = w.pictureArea().toAlignedRect().intersected(fit.rect());
    qint64 background = 0, total = 0;
    for (int y = area.top(); y <= area.bottom(); ++y)
        for (int x = area.left(); x <= area.right(); ++x, ++total)
            if (fit.pixel(x, y) == qRgb(8, 8, 10)) ++background;
    const double filled = 1.0 - static_cast<double>(background) / static_cast<double>(total);
    std::printf("fc1 at Fit in %gx%g: %lld neurons x %lld inputs per cell, picture %.0f%% of the view\n",
                v.viewSize().width(), v.viewSize().height(), static_cast<long long>(v.rowsPerCell()),
                static_cast<long long>(v.colsPerCell()), 100.0 * filled);
    QVERIFY2(filled >= 0.8, qPrintable(QString::number(filled)));
    // Hovering a cell shows which connections it stands for.
    const QPoint at =
        (w.pictureArea().topLeft() + QPointF(w.pictureArea().width() * 0.4, w.pictureArea().height() * 0.45)).toPoint();
    QMouseEvent move(QEvent::MouseMove, at, w.mapToGlobal(at), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &move);
    QTest::qWait(300);
    const QString dir = QStringLiteral(SRIGL_TEST_BINARY_DIR);
    QVERIFY(w.grab().save(dir + QStringLiteral("/inspector_fit_300x784.png")));
    // One notch of the wheel: every input has a pixel again, so cells are single connections.
    QVERIFY(!v.exact());
    QWheelEvent wheel(at, w.mapToGlobal(at), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase,
                      false);
    QCoreApplication::sendEvent(&w, &wheel);
    QTRY_VERIFY_WITH_TIMEOUT(v.exact(), 5000);
    QVERIFY(!v.fitted());

    QSignalSpy clicked(&w, &MaskInspectorWidget::neuronClicked);
    w.setTileView(true);
    QTRY_VERIFY_WITH_TIMEOUT(w.tileGrid().columns > 0, 10000);
    const NeuronTileGrid& g = w.tileGrid();
    QVERIFY(g.columns * g.rows >= 300);
    const int64_t neuron = 137;
    const QPoint tile =
        (w.pictureArea().topLeft() + QPointF(g.tileX(neuron) + g.tileWidth / 2, g.tileY(neuron) + g.tileHeight / 2))
            .toPoint();
    QMouseEvent over(QEvent::MouseMove, tile, w.mapToGlobal(tile), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &over);
    QTest::qWait(100);
    QMouseEvent press(QEvent::MouseButtonPress, tile, w.mapToGlobal(tile), Qt::LeftButton, Qt::LeftButton,
                      Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &press);
    QTest::qWait(100);
    QMouseEvent release(QEvent::MouseButtonRelease, tile, w.mapToGlobal(tile), Qt::LeftButton, Qt::NoButton,
                        Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &release);
    QTRY_COMPARE_WITH_TIMEOUT(clicked.count(), 1, 5000);
    QCOMPARE(clicked.first().at(0).toString(), QStringLiteral("fc1"));
    QCOMPARE(clicked.first().at(1).toInt(), int(neuron));
    QTest::qWait(300);
    QVERIFY(w.grab().save(dir + QStringLiteral("/inspector_tiles_300x784.png")));

    // The wheel zooms the tiles about the cursor: the neuron under it stays under it.
    const double fittedScale = w.tileGrid().scale;
    const QPointF inView = QPointF(tile) - w.pictureArea().topLeft();
    QWheelEvent zoom(tile, w.mapToGlobal(tile), QPoint(), QPoint(0, 240), Qt::NoButton, Qt::NoModifier,
                     Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(&w, &zoom);
    QTRY_VERIFY_WITH_TIMEOUT(w.tileGrid().scale > fittedScale * 1.2, 5000);
    QCOMPARE(w.tileGrid().neuronAt(inView.x(), inView.y()), neuron);
    // A drag pans them and opens nothing.
    const double originX = w.tileGrid().originX;
    const QPoint to = tile + QPoint(60, 0);
    QMouseEvent grab(QEvent::MouseButtonPress, tile, w.mapToGlobal(tile), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &grab);
    QTest::qWait(100);
    for (int step = 1; step <= 6; ++step) {
        const QPoint p = tile + QPoint(10 * step, 0);
        QMouseEvent drag(QEvent::MouseMove, p, w.mapToGlobal(p), Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(&w, &drag);
        QTest::qWait(50);
    }
    QMouseEvent drop(QEvent::MouseButtonRelease, to, w.mapToGlobal(to), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &drop);
    QTRY_VERIFY_WITH_TIMEOUT(w.tileGrid().originX > originX + 30, 5000);
    QTest::qWait(200);
    QCOMPARE(clicked.count(), 1);
    // A double-click goes back to the fit.
    QMouseEvent twice(QEvent::MouseButtonDblClick, to, w.mapToGlobal(to), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &twice);
    QMouseEvent up(QEvent::MouseButtonRelease, to, w.mapToGlobal(to), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &up);
    QTRY_COMPARE_WITH_TIMEOUT(w.tileGrid().scale, fittedScale, 5000);
}

// A live publication's frame shows the chosen layer (the first when none or an unknown one is
// chosen), its active weights in mask order; a small layer's frame is delivered at once, without
// the worker; a publication without masks says so.
void TestMaskInspector::liveFramesPickTheLayerAndSmallOnesComeAtOnce() {
    auto live = std::make_shared<srigl::sessions::LiveLayers>();
    live->runId = 3;
    live->step = 40;
    auto fc1 = emptyMask("fc1", 2, 3);
    setEach(fc1, {{0, 0}, {0, 2}, {1, 1}});
    auto fc2 = emptyMask("fc2", 1, 2);
    setEach(fc2, {{0, 1}});
    live->masks = std::make_shared<const std::vector<srigl::LayerMaskSnapshot>>(std::vector{fc1, fc2});
    live->weights = {{"fc1", 2, 3, {1, 2, 3, 4, 5, 6}}};

    InspectorFrame first = inspectorFrameFromLive(*live, "");
    QCOMPARE(first.layer, std::string("fc1"));
    QCOMPARE(first.layers, (std::vector<std::string>{"fc1", "fc2"}));
    QCOMPARE(first.step, int64_t(40));
    QVERIFY(first.weights.has_value());
    QCOMPARE(*first.weights, (std::vector<float>{1, 3, 5})); // the kept ones, row by row
    QCOMPARE(inspectorFrameFromLive(*live, "fc9").layer, std::string("fc1"));
    const InspectorFrame second = inspectorFrameFromLive(*live, "fc2");
    QCOMPARE(second.layer, std::string("fc2"));
    QVERIFY(!second.weights.has_value()); // not published for fc2
    QCOMPARE(second.inspection->rows(), int64_t(1));

    LiveFrameSource source;
    QSignalSpy ready(&source, &LiveFrameSource::frameReady);
    QSignalSpy failed(&source, &LiveFrameSource::failed);
    source.setLayer(QStringLiteral("fc2"));
    source.show(live);
    QCOMPARE(ready.count(), 1); // at once: no event loop turned
    QCOMPARE(ready.first().at(0).value<std::shared_ptr<const InspectorFrame>>()->layer, std::string("fc2"));
    source.show(std::make_shared<srigl::sessions::LiveLayers>()); // no masks yet
    QTRY_COMPARE(failed.count(), 1);
    QVERIFY(failed.first().at(0).toString().contains(QStringLiteral("no mask")));
}

QTEST_MAIN(TestMaskInspector)
#include "test_mask_inspector.moc"
