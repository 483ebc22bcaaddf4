// Layer statistics from a known stored run: the values at a step (the last snapshot at or before
// it), SAD per update, the ablation timeline, mask diversity, and the dock following the scrubber
// or the live run, with its store reads off the UI thread (stale ones dropped).
#include "sessions/store/run_store.hpp"
#include "tests/support/stored_runs.hpp"
#include "widgets/layer_stats/layer_stats_model.hpp"
#include "sessions/session/live_layers.hpp"
#include "widgets/layer_stats/layer_stats_panel.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/common/xy_chart.hpp"
#include "widgets/structure/histogram_chart.hpp"

#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <limits>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

// An 8 x 16 layer, constant fan-in k = 4 over its active neurons.
MaskRecord record(const std::string& layer, int64_t step, int64_t ablated, int64_t sad) {
    MaskRecord r;
    r.step = step;
    r.mask.name = layer;
    r.mask.outFeatures = 8;
    r.mask.fanIn = 16;
    r.mask.bits.assign(16, 0);
    for (int64_t row = ablated; row < 8; ++row)
        for (int64_t c = 0; c < 4; ++c) {
            const int64_t i = row * 16 + (c + step / 100) % 16;
            r.mask.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
        }
    for (int64_t row = 0; row < ablated; ++row) r.mask.ablated.push_back(row);
    r.stats.name = layer;
    r.stats.outFeatures = 8;
    r.stats.fanIn = 16;
    r.stats.k = 4;
    r.stats.active = 8 - ablated;
    r.stats.ablated = ablated;
    r.stats.sparsity = 1.0 - 4.0 * static_cast<double>(8 - ablated) / 128.0;
    r.stats.sad = sad;
    r.stats.pruned = sad / 2;
    r.stats.regrown = sad / 2;
    return r;
}

// knownRun's snapshots as a trainable_threshold run records them: thresholds for every neuron,
// (step / 100) * 0.01 + neuron * 0.001 (fc1) and twice that (fc2).
std::vector<MaskRecord> withThresholds(std::vector<MaskRecord> records) {
    for (auto& r : records) {
        const float scale = r.stats.name == "fc2" ? 2.0f : 1.0f;
        for (int64_t n = 0; n < r.stats.outFeatures; ++n)
            r.stats.thresholds.push_back(scale * (0.01f * static_cast<float>(r.step / 100) + 0.001f * static_cast<float>(n)));
    }
    return records;
}

std::vector<MaskRecord> knownRun() {
    return {record("fc1", 0, 0, 0), record("fc2", 0, 0, 0), record("fc1", 100, 2, 40),
            record("fc1", 200, 3, 30), record("fc2", 200, 1, 10)};
}

// What RunStore::maskStats reads back of those snapshots (the panel reads no mask).
std::vector<MaskStatsRecord> statsOf(const std::vector<MaskRecord>& records) {
    std::vector<MaskStatsRecord> out;
    for (const auto& r : records) out.push_back({r.step, r.stats});
    return out;
}

} // namespace

class TestLayerStats : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void valuesAtAStepComeFromTheLastSnapshotBeforeIt();
    void latestWhenNoStep();
    void initialSnapshotHasNoUpdate();
    void sadSeriesSkipsTheInitialSnapshot();
    void ablationTimelineHasEverySnapshot();
    void diversityOfConstantFanInAndUnstructured();
    void panelShowsTheStoredRunAtTheStep();
    void panelFollowsTheLiveRunOnlyWithoutASelection();
    void panelSaysWhenARunHasNoSnapshots();
    void panelReadsOffTheUiThreadAndDropsStaleReads();
    void panelShowsAStoreError();
    void livePublicationsShowBeforeTheStoreHasThem();
    void thresholdMeansAndHistogram();
    void panelShowsThresholdsOnlyForThresholdRuns();
};

void TestLayerStats::valuesAtAStepComeFromTheLastSnapshotBeforeIt() {
    const auto rows = layerStatsAt(statsOf(knownRun()), 150);
    QCOMPARE(rows.size(), size_t(2));
    QCOMPARE(rows[0].name, std::string("fc1"));
    QCOMPARE(rows[0].step, int64_t(100));
    QCOMPARE(rows[0].ablated, int64_t(2));
    QCOMPARE(rows[0].active, int64_t(6));
    QCOMPARE(rows[0].k, int64_t(4));
    QCOMPARE(rows[0].sad, int64_t(40));
    QCOMPARE(rows[0].sparsity, 1.0 - 24.0 / 128.0);
    QCOMPARE(rows[1].name, std::string("fc2"));
    QCOMPARE(rows[1].step, int64_t(0));
    QCOMPARE(rows[1].ablated, int64_t(0));
}

void TestLayerStats::latestWhenNoStep() {
    const auto rows = layerStatsAt(statsOf(knownRun()), -1);
    QCOMPARE(rows[0].step, int64_t(200));
    QCOMPARE(rows[0].sad, int64_t(30));
    QCOMPARE(rows[1].step, int64_t(200));
    QCOMPARE(rows[1].sad, int64_t(10));
    QCOMPARE(layerStatsAt(statsOf(knownRun()), 200)[0].ablated, int64_t(3));
}

void TestLayerStats::initialSnapshotHasNoUpdate() {
    auto records = knownRun();
    records[0].stats.sad = 99; // whatever the start reports, it is no update
    const auto rows = layerStatsAt(statsOf(records), 50);
    QCOMPARE(rows[0].sad, int64_t(0));
    QCOMPARE(rows[0].pruned, int64_t(0));
}

void TestLayerStats::sadSeriesSkipsTheInitialSnapshot() {
    const auto series = sadSeries(statsOf(knownRun()));
    QCOMPARE(series.size(), size_t(2));
    QCOMPARE(series[0].layer, std::string("fc1"));
    QCOMPARE(series[0].points.size(), size_t(2));
    QCOMPARE(series[0].points[0].step, 100.0);
    QCOMPARE(series[0].points[0].value, 40.0);
    QCOMPARE(series[0].points[1].value, 30.0);
    QCOMPARE(series[1].points.size(), size_t(1));
    QCOMPARE(series[1].points[0].step, 200.0);
    QCOMPARE(series[1].points[0].value, 10.0);
}

void TestLayerStats::ablationTimelineHasEverySnapshot() {
    const auto series = ablationTimeline(statsOf(knownRun()));
    QCOMPARE(series[0].points.size(), size_t(3));
    QCOMPARE(series[0].points[0].value, 0.0);
    QCOMPARE(series[0].points[1].value, 2.0);
    QCOMPARE(series[0].points[2].value, 3.0);
    QCOMPARE(series[1].points.size(), size_t(2));
}

void TestLayerStats::diversityOfConstantFanInAndUnstructured() {
    // C(16, 4) = 1820 choices per active neuron, 6 active neurons.
    const auto rows = layerStatsAt(statsOf(knownRun()), 100);
    QVERIFY(std::abs(rows[0].log10Diversity - 6 * std::log10(1820.0)) < 1e-9);
    // Unstructured (k = 0): C(total, kept); C(8, 2) = 28.
    LayerUpdateStats s;
    s.outFeatures = 2;
    s.fanIn = 4;
    s.k = 0;
    s.sparsity = 0.75;
    QVERIFY(std::abs(layerDiversity(s) - std::log10(28.0)) < 1e-9);
}

void TestLayerStats::panelShowsTheStoredRunAtTheStep() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    const int64_t id = storeRun(db.toStdString(), minimalRun("known"), {}, knownRun());
    StoreReader reader;
    LayerStatsPanel panel(reader);
    panel.openDatabase(db);
    QSignalSpy loaded(&panel, &LayerStatsPanel::loaded);
    panel.showRunStep(id, 150);
    QVERIFY(loaded.wait(10000));
    QCOMPARE(panel.table()->rowCount(), 2);
    QCOMPARE(panel.table()->item(0, 0)->text(), QStringLiteral("fc1"));
    QCOMPARE(panel.table()->item(0, 1)->text(), QStringLiteral("100"));
    QCOMPARE(panel.table()->item(0, 6)->text(), QStringLiteral("2"));
    QCOMPARE(panel.table()->item(0, 7)->text(), QStringLiteral("40"));
    QCOMPARE(panel.sadChart()->seriesCount(), 2);
    QCOMPARE(panel.ablationChart()->series()[0].points.size(), size_t(3));
    panel.showRunStep(id, 250); // another step of the same run: shown at once, nothing read
    QVERIFY(!panel.loading());
    QCOMPARE(panel.table()->item(0, 1)->text(), QStringLiteral("200"));
    QVERIFY(panel.message().isEmpty());
}

void TestLayerStats::panelFollowsTheLiveRunOnlyWithoutASelection() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    const int64_t a = storeRun(db.toStdString(), minimalRun(), {}, knownRun());
    const int64_t b = storeRun(db.toStdString(), minimalRun(), {}, {record("fc1", 0, 0, 0)});
    StoreReader reader;
    LayerStatsPanel panel(reader);
    panel.openDatabase(db);
    QSignalSpy loaded(&panel, &LayerStatsPanel::loaded);
    panel.followLiveRun(b);
    QCOMPARE(panel.runId(), qint64(b));
    QVERIFY(loaded.wait(10000));
    QCOMPARE(panel.table()->rowCount(), 1);
    panel.showRunStep(a, 100);
    panel.followLiveRun(b); // the scrubber's choice wins
    QCOMPARE(panel.runId(), qint64(a));
    QTRY_VERIFY_WITH_TIMEOUT(!panel.loading(), 10000);
    QCOMPARE(panel.table()->rowCount(), 2); // run a at step 100: fc1's update, fc2's initial mask
    QCOMPARE(panel.table()->item(0, 1)->text(), QStringLiteral("100"));
    QCOMPARE(panel.table()->item(1, 1)->text(), QStringLiteral("0"));
    panel.clearSelection();
    panel.followLiveRun(b);
    QCOMPARE(panel.runId(), qint64(b));
    QCOMPARE(panel.step(), qint64(-1));
}

void TestLayerStats::panelSaysWhenARunHasNoSnapshots() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    const int64_t id = storeRun(db.toStdString(), minimalRun());
    StoreReader reader;
    LayerStatsPanel panel(reader);
    panel.openDatabase(db);
    panel.showRunStep(id, 0);
    QCOMPARE(panel.table()->rowCount(), 0);
    QVERIFY(!panel.message().contains("no mask snapshots")); // not known before the read is back
    QTRY_VERIFY_WITH_TIMEOUT(!panel.loading(), 10000);
    QCOMPARE(panel.table()->rowCount(), 0);
    QVERIFY(panel.message().contains("no mask snapshots"));
}

void TestLayerStats::panelReadsOffTheUiThreadAndDropsStaleReads() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    const int64_t a = storeRun(db.toStdString(), minimalRun(), {}, knownRun());
    const int64_t b = storeRun(db.toStdString(), minimalRun(), {}, {record("fc3", 0, 0, 0)});
    StoreReader reader;
    LayerStatsPanel panel(reader);
    panel.openDatabase(db);
    QSignalSpy loaded(&panel, &LayerStatsPanel::loaded);
    // The calls return before the store is read: nothing is shown yet.
    panel.showRunStep(a, -1);
    QVERIFY(panel.loading());
    QCOMPARE(panel.table()->rowCount(), 0);
    // Another run chosen while a's read runs: a's result is dropped, b's is shown.
    panel.showRunStep(b, -1);
    QTRY_VERIFY_WITH_TIMEOUT(!panel.loading(), 10000);
    QCOMPARE(loaded.size(), 1);
    QCOMPARE(panel.runId(), qint64(b));
    QCOMPARE(panel.table()->rowCount(), 1);
    QCOMPARE(panel.table()->item(0, 0)->text(), QStringLiteral("fc3"));
    // Another database while a read runs: its result never reaches the panel.
    panel.showRunStep(a, -1);
    QVERIFY(panel.loading());
    panel.openDatabase(dir.filePath("other.db"));
    QTRY_VERIFY_WITH_TIMEOUT(!panel.loading(), 10000);
    QCOMPARE(loaded.size(), 1);
    QCOMPARE(panel.runId(), qint64(0));
    QCOMPARE(panel.table()->rowCount(), 0);
}

void TestLayerStats::panelShowsAStoreError() {
    QTemporaryDir dir;
    StoreReader reader;
    LayerStatsPanel panel(reader);
    panel.openDatabase(dir.filePath("missing.db")); // read-only: not created
    QSignalSpy loaded(&panel, &LayerStatsPanel::loaded);
    panel.showRunStep(7, -1);
    QVERIFY(loaded.wait(10000));
    QCOMPARE(panel.table()->rowCount(), 0);
    QVERIFY(!panel.message().isEmpty());
    QVERIFY(!panel.message().contains("no mask snapshots"));
}

// The live run's publications (the session's latest-value slot) show at once, join the stored
// history when it arrives, and a step of the live run selected on the scrubber that the store does
// not hold yet still shows; a hidden panel draws when shown.
void TestLayerStats::livePublicationsShowBeforeTheStoreHasThem() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    const int64_t id = storeRun(db.toStdString(), minimalRun(), {}, {record("fc1", 0, 0, 0)});
    StoreReader reader;
    LayerStatsPanel panel(reader);
    panel.openDatabase(db);
    auto publish = [&](int64_t step, int64_t ablated, uint64_t sequence) {
        auto l = std::make_shared<srigl::sessions::LiveLayers>();
        l->runId = id;
        l->step = step;
        l->sequence = sequence;
        l->stats = {record("fc1", step, ablated, 3).stats};
        panel.showLive(l);
    };
    publish(100, 2, 2); // hidden: kept, not drawn
    QCOMPARE(panel.table()->rowCount(), 0);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QTRY_COMPARE(panel.table()->rowCount(), 1);
    QCOMPARE(panel.table()->item(0, 1)->text(), QStringLiteral("100")); // the publication, not the stored step 0
    QTRY_VERIFY(!panel.loading()); // the stored history (step 0) arrived and did not take step 100 away
    QCOMPARE(panel.table()->item(0, 1)->text(), QStringLiteral("100"));
    QCOMPARE(panel.ablationChart()->series()[0].points.size(), size_t(2)); // steps 0 and 100
    publish(200, 3, 3); // within a quarter of a second of the last redraw: coalesced, then drawn
    QTRY_COMPARE(panel.table()->item(0, 1)->text(), QStringLiteral("200"));
    // The scrubber selects the live run's step 100, which only the publications hold.
    panel.showRunStep(id, 100);
    QTRY_VERIFY(!panel.loading());
    QTRY_COMPARE(panel.table()->item(0, 1)->text(), QStringLiteral("100"));
    QVERIFY(!panel.showsThresholds());

    // A trainable_threshold run's publications carry thresholds: the threshold charts follow them
    // before the store has any snapshot of that run.
    panel.clearSelection();
    const int64_t tt = storeRun(db.toStdString(), minimalRun("thresholds"), {}, {});
    auto live = std::make_shared<srigl::sessions::LiveLayers>();
    live->runId = tt;
    live->step = 300;
    live->sequence = 1;
    for (const auto& r : withThresholds({record("fc1", 300, 0, 5), record("fc2", 300, 0, 5)})) live->stats.push_back(r.stats);
    panel.showLive(live);
    QTRY_VERIFY(panel.showsThresholds());
    QTRY_COMPARE(panel.table()->item(0, 10)->text(), QStringLiteral("0.0335 [0.03, 0.037]"));
    int64_t total = 0;
    for (const auto& bar : panel.thresholdHistogram()->bars()) total += bar.count;
    QCOMPARE(total, int64_t(8));
}


void TestLayerStats::thresholdMeansAndHistogram() {
    const auto records = statsOf(withThresholds(knownRun()));
    // Means per layer at every snapshot: fc1 at 0, 100, 200; fc2 at 0, 200 (neurons 0..7: +0.0035).
    const auto means = thresholdMeans(records);
    QCOMPARE(means.size(), size_t(2));
    QCOMPARE(means[0].layer, std::string("fc1"));
    QCOMPARE(means[0].points.size(), size_t(3));
    QVERIFY(std::abs(means[0].points[1].value - 0.0135) < 1e-6);
    QCOMPARE(means[1].points.size(), size_t(2));
    QVERIFY(std::abs(means[1].points[1].value - 2 * 0.0235) < 1e-6);
    QVERIFY(thresholdMeans(statsOf(knownRun())).empty()); // other methods: nothing to draw
    // The row at a step carries that snapshot's thresholds.
    const auto rows = layerStatsAt(records, 150);
    QCOMPARE(rows[0].thresholds.size(), size_t(8));
    QCOMPARE(rows[0].thresholds[7], 0.01f + 0.007f);

    // Histogram: equal bins over [min, max], the maximum in the last bin, non-finite values skipped.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const auto h = realHistogram({0.0f, 0.25f, 0.5f, 0.75f, 1.0f, nan}, 4);
    QCOMPARE(h.counts, (std::vector<int64_t>{1, 1, 1, 2}));
    QCOMPARE(h.lo, 0.0);
    QCOMPARE(h.width, 0.25);
    const auto same = realHistogram({0.3f, 0.3f}, 4); // one value: one bin holding all
    QCOMPARE(same.counts, (std::vector<int64_t>{2}));
    QVERIFY(realHistogram({nan}, 4).counts.empty());
    QVERIFY(realHistogram({}, 4).counts.empty());
}

void TestLayerStats::panelShowsThresholdsOnlyForThresholdRuns() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    const int64_t plain = storeRun(db.toStdString(), minimalRun("srigl"), {}, knownRun());
    const int64_t tt = storeRun(db.toStdString(), minimalRun("thresholds"), {}, withThresholds(knownRun()));
    StoreReader reader;
    LayerStatsPanel panel(reader);
    panel.openDatabase(db);
    QSignalSpy loaded(&panel, &LayerStatsPanel::loaded);

    panel.showRunStep(tt, 150);
    QVERIFY(loaded.wait(10000));
    QVERIFY(panel.showsThresholds());
    QCOMPARE(panel.table()->item(0, 10)->text(), QStringLiteral("0.0135 [0.01, 0.017]"));
    QCOMPARE(panel.thresholdChart()->seriesCount(), 2);
    // The histogram is of the selected layer (the first until one is chosen): all its neurons.
    int64_t total = 0;
    for (const auto& bar : panel.thresholdHistogram()->bars()) total += bar.count;
    QCOMPARE(total, int64_t(8));
    QCOMPARE(panel.thresholdHistogram()->bars().front().label, QStringLiteral("0.01"));
    panel.table()->setCurrentCell(1, 0); // fc2 at its step-0 snapshot: 2 * 0.001 * n
    QCOMPARE(panel.thresholdHistogram()->bars().front().label, QStringLiteral("0"));
    QVERIFY(panel.thresholdHistogram()->chart()->title().contains(QStringLiteral("fc2")));
    panel.showRunStep(tt, 250); // the selection stays on fc2 as the step moves
    QCOMPARE(panel.thresholdHistogram()->bars().front().label, QStringLiteral("0.04"));

    // A run without thresholds hides the charts and says so in the table.
    panel.showRunStep(plain, 150);
    QVERIFY(loaded.wait(10000));
    QVERIFY(!panel.showsThresholds());
    QCOMPARE(panel.table()->item(0, 10)->text(), QStringLiteral("\u2014"));
}

QTEST_MAIN(TestLayerStats)
#include "test_layer_stats.moc"
