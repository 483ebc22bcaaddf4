// The compare dashboard: the config diff lists only keys that differ, EMA smoothing values, the
// accuracy-vs-sparsity grouping of finished runs, the dock overlaying the selected runs, and its
// fan-in and out-degree page putting runs side by side (hand-made masks, and tiny trained runs whose
// picture goes to $SRIGL_SHOT_DIR/studio_compare_degrees.png when that is set).
#include "engine/config/run_config.hpp"
#include "sessions/session/session.hpp"
#include "sessions/store/run_store.hpp"
#include "tests/support/hand_masks.hpp"
#include "widgets/compare/accuracy_vs_sparsity_model.hpp"
#include "widgets/compare/compare_dashboard.hpp"
#include "widgets/compare/degree_comparison_panel.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/compare/config_diff_model.hpp"
#include "widgets/common/curve_smoothing.hpp"
#include "widgets/common/xy_chart.hpp"
#include "widgets/structure/histogram_chart.hpp"

#include <QChart>
#include <QComboBox>
#include <QDir>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QValueAxis>
#include <QtTest>

#include <cmath>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

int64_t addRun(RunStore& store, const std::string& method, double sparsity, RunStatus status, double accuracy,
               const std::string& model = "mlp", const std::string& config = "{}") {
    NewRun n;
    n.name = method + " " + std::to_string(sparsity);
    n.method = method;
    n.model = model;
    n.dataset = "synthetic";
    n.sparsity = sparsity;
    n.config = config;
    const int64_t id = store.createRun(n);
    if (status != RunStatus::Running) store.finishRun(id, status, 100, accuracy);
    return id;
}

// A snapshot of `mask` at `step` with the weight shape the store keeps beside it.
MaskRecord snapshot(int64_t step, LayerMaskSnapshot mask) {
    MaskRecord r;
    r.step = step;
    r.stats.name = mask.name;
    r.stats.shape = {mask.outFeatures, mask.fanIn};
    r.stats.outFeatures = mask.outFeatures;
    r.stats.fanIn = mask.fanIn;
    r.mask = std::move(mask);
    return r;
}

// Every row keeps k inputs (a different window per row).
LayerMaskSnapshot constantFanIn(const std::string& name, int64_t out, int64_t fanIn, int64_t k) {
    auto m = emptyMask(name, out, fanIn);
    for (int64_t r = 0; r < out; ++r)
        for (int64_t j = 0; j < k; ++j) set(m, r, (r * 7 + j) % fanIn);
    return m;
}

// RigL-like: about the same budget, spread over fan-ins 15..45.
LayerMaskSnapshot spreadFanIn(const std::string& name, int64_t out, int64_t fanIn) {
    auto m = emptyMask(name, out, fanIn);
    for (int64_t r = 0; r < out; ++r)
        for (int64_t c = 0; c < 15 + (r * 7) % 31; ++c) set(m, r, (c * 11 + r) % fanIn);
    return m;
}

int occupied(const HistogramChart* chart) {
    int n = 0;
    for (const auto& bar : chart->bars()) n += bar.count > 0;
    return n;
}

QStringList barLabels(const HistogramChart* chart) {
    QStringList out;
    for (const auto& bar : chart->bars()) out << bar.label;
    return out;
}

qreal countAxisMax(const HistogramChart* chart) {
    const auto axes = chart->chart()->axes(Qt::Vertical);
    auto* y = axes.isEmpty() ? nullptr : qobject_cast<QValueAxis*>(axes.first());
    return y ? y->max() : -1.0;
}

QStringList comboItems(const QComboBox* combo) {
    QStringList out;
    for (int i = 0; i < combo->count(); ++i) out << combo->itemText(i);
    return out;
}

// A tiny MLP (784-128-64-10) on the synthetic digits: about a second of training.
int64_t trainTinyRun(const QString& db, const std::string& method) {
    RunConfig config;
    for (const std::string& kv : {"method=" + method, std::string("sparsity=0.9"), std::string("hidden=128,64"),
                                  std::string("epochs=2"), std::string("synthetic_train=2000"),
                                  std::string("synthetic_test=500"), std::string("delta_t=20"),
                                  std::string("log_every=10"), std::string("eval_every=50")})
        applyOverride(config, kv);
    Session session(config, db.toStdString());
    session.start();
    session.wait();
    return session.snapshot().runId;
}

} // namespace

class TestCompareDashboard : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void diffShowsOnlyDifferingKeys();
    void diffMarksMissingKeys();
    void diffOfOneRunIsEmpty();
    void diffRejectsAConfigThatIsNotJson();
    void smoothingFollowsTheEmaFormula();
    void smoothingZeroKeepsTheCurve();
    void smoothingSkipsNonFiniteValues();
    void smoothingRejectsABadWeight();
    void accuracyVsSparsityGroupsFinishedRunsByMethod();
    void accuracyVsSparsityFiltersByModel();
    void dashboardOverlaysTheSelectedRuns();
    void dashboardSmoothingChangesTheCurves();
    void degreesPutConstantFanInBesideASpread();
    void degreesOfTrainedSriglRiglAndSetRuns();
};

void TestCompareDashboard::diffShowsOnlyDifferingKeys() {
    const auto diff = diffConfigs({R"({"method":"srigl","sparsity":0.9,"seed":1,"optimizer":{"lr":0.1,"momentum":0.9}})",
                                   R"({"method":"rigl","sparsity":0.9,"seed":1,"optimizer":{"lr":0.2,"momentum":0.9}})",
                                   R"({"method":"srigl","sparsity":0.9,"seed":1,"optimizer":{"lr":0.1,"momentum":0.9}})"});
    QCOMPARE(diff.keys, (std::vector<std::string>{"method", "optimizer.lr"}));
    QCOMPARE(diff.values[0], (std::vector<std::string>{"srigl", "rigl", "srigl"}));
    QCOMPARE(diff.values[1], (std::vector<std::string>{"0.1", "0.2", "0.1"}));

    ConfigDiffModel model;
    QVERIFY(model.setRuns({"a", "b", "c"}, {R"({"x":1,"y":true})", R"({"x":1,"y":false})", R"({"x":1,"y":true})"}));
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.columnCount(), 3);
    QCOMPARE(model.headerData(0, Qt::Vertical, Qt::DisplayRole).toString(), QStringLiteral("y"));
    QCOMPARE(model.headerData(1, Qt::Horizontal, Qt::DisplayRole).toString(), QStringLiteral("b"));
    QCOMPARE(model.data(model.index(0, 1), Qt::DisplayRole).toString(), QStringLiteral("false"));
}

void TestCompareDashboard::diffMarksMissingKeys() {
    const auto diff = diffConfigs({R"({"a":1,"tags":["x"]})", R"({"a":1})"});
    QCOMPARE(diff.keys, (std::vector<std::string>{"tags"}));
    QCOMPARE(diff.values[0][0], std::string(R"(["x"])"));
    QCOMPARE(diff.values[0][1], std::string("\u2014"));
}

void TestCompareDashboard::diffOfOneRunIsEmpty() {
    QVERIFY(diffConfigs({R"({"a":1})"}).keys.empty());
    QVERIFY(diffConfigs({R"({"a":1,"b":2})", R"({"b":2,"a":1})"}).keys.empty()); // key order does not matter
}

void TestCompareDashboard::diffRejectsAConfigThatIsNotJson() {
    try {
        diffConfigs({R"({"a":1})", "not json"});
        QFAIL("expected an error");
    } catch (const std::invalid_argument& e) {
        QVERIFY2(QString(e.what()).contains("config of run 2"), e.what());
    }
    ConfigDiffModel model;
    QVERIFY(!model.setRuns({"a", "b"}, {"[1,2]", R"({"a":1})"}));
    QVERIFY(model.error().contains("run 1"));
    QCOMPARE(model.rowCount(), 0);
}

void TestCompareDashboard::smoothingFollowsTheEmaFormula() {
    const auto s = emaSmooth({{0, 1.0}, {1, 2.0}, {2, 3.0}, {3, 3.0}}, 0.5);
    QCOMPARE(s.size(), size_t(4));
    QCOMPARE(s[0].value, 1.0);
    QCOMPARE(s[1].value, 1.5);
    QCOMPARE(s[2].value, 2.25);
    QCOMPARE(s[3].value, 2.625);
    QCOMPARE(s[3].step, 3.0);
}

void TestCompareDashboard::smoothingZeroKeepsTheCurve() {
    const std::vector<CurvePoint> in{{0, 5.0}, {10, -1.0}, {20, 7.5}};
    const auto s = emaSmooth(in, 0.0);
    for (size_t i = 0; i < in.size(); ++i) QCOMPARE(s[i].value, in[i].value);
}

void TestCompareDashboard::smoothingSkipsNonFiniteValues() {
    const auto s = emaSmooth({{0, 2.0}, {1, NAN}, {2, 4.0}}, 0.5);
    QVERIFY(std::isnan(s[1].value));
    QCOMPARE(s[2].value, 3.0); // 0.5 * 2 + 0.5 * 4: the NaN did not enter the average
}

void TestCompareDashboard::smoothingRejectsABadWeight() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, emaSmooth({{0, 1.0}}, 1.0));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, emaSmooth({{0, 1.0}}, -0.1));
}

void TestCompareDashboard::accuracyVsSparsityGroupsFinishedRunsByMethod() {
    QTemporaryDir dir;
    RunStore store(dir.filePath("runs.db").toStdString());
    addRun(store, "srigl", 0.9, RunStatus::Finished, 0.90);
    addRun(store, "srigl", 0.9, RunStatus::Finished, 0.94); // a second seed
    addRun(store, "srigl", 0.5, RunStatus::Finished, 0.97);
    addRun(store, "rigl", 0.9, RunStatus::Finished, 0.88);
    addRun(store, "rigl", 0.8, RunStatus::Failed, 0.10);    // not finished: left out
    addRun(store, "set", 0.9, RunStatus::Running, -1);      // still running: left out
    addRun(store, "static", 0.9, RunStatus::Stopped, 0.5);  // stopped early: left out
    const auto fig = accuracyVsSparsity(store.listRuns());
    QCOMPARE(fig.methods.size(), size_t(2));
    const auto& srigl = fig.methods.at("srigl");
    QCOMPARE(srigl.size(), size_t(2));
    QCOMPARE(srigl[0].sparsity, 0.5); // sorted by sparsity
    QCOMPARE(srigl[0].runs, 1);
    QCOMPARE(srigl[1].runs, 2);
    QVERIFY(std::abs(srigl[1].mean - 0.92) < 1e-12);
    QCOMPARE(srigl[1].min, 0.90);
    QCOMPARE(srigl[1].max, 0.94);
    QCOMPARE(fig.methods.at("rigl").size(), size_t(1));
    QCOMPARE(fig.methods.at("rigl")[0].mean, 0.88);
}

void TestCompareDashboard::accuracyVsSparsityFiltersByModel() {
    QTemporaryDir dir;
    RunStore store(dir.filePath("runs.db").toStdString());
    addRun(store, "srigl", 0.9, RunStatus::Finished, 0.90, "mlp");
    addRun(store, "srigl", 0.9, RunStatus::Finished, 0.70, "lenet5");
    const auto all = accuracyVsSparsity(store.listRuns());
    QCOMPARE(all.models, (std::vector<std::string>{"lenet5 / synthetic", "mlp / synthetic"}));
    QCOMPARE(all.methods.at("srigl")[0].runs, 2);
    const auto mlp = accuracyVsSparsity(store.listRuns(), "mlp / synthetic");
    QCOMPARE(mlp.methods.at("srigl")[0].runs, 1);
    QCOMPARE(mlp.methods.at("srigl")[0].mean, 0.90);
}

void TestCompareDashboard::dashboardOverlaysTheSelectedRuns() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    int64_t a = 0, b = 0;
    {
        RunStore store(db.toStdString());
        a = addRun(store, "srigl", 0.9, RunStatus::Finished, 0.9, "mlp", R"({"method":"srigl","seed":1,"epochs":2})");
        b = addRun(store, "rigl", 0.9, RunStatus::Finished, 0.8, "mlp", R"({"method":"rigl","seed":1,"epochs":2})");
        addRun(store, "set", 0.5, RunStatus::Finished, 0.85, "mlp", R"({"method":"set","seed":2,"epochs":2})");
        store.addMetrics(a, {{10, "train_loss", 1.0}, {20, "train_loss", 0.5}, {20, "test_accuracy", 0.9}});
        store.addMetrics(b, {{10, "train_loss", 2.0}, {20, "train_loss", 1.0}, {30, "train_loss", 0.5}});
    }
    StoreReader reader;
    CompareDashboard dash(reader);
    QSignalSpy loaded(&dash, &CompareDashboard::loaded);
    dash.openDatabase(db);
    QVERIFY(loaded.wait(10000)); // the run list is read in the background
    QCOMPARE(dash.lossChart()->seriesCount(), 0);
    dash.setSmoothing(0.0);
    dash.setSelectedRuns({a, b});
    QCOMPARE(dash.selectedRuns(), (QList<qint64>{a, b}));
    QVERIFY(dash.loading()); // and so are the curves
    QTRY_VERIFY_WITH_TIMEOUT(!dash.loading(), 10000);
    QCOMPARE(dash.lossChart()->seriesCount(), 2);
    QCOMPARE(dash.lossChart()->series()[1].points.size(), size_t(3));
    QCOMPARE(dash.lossChart()->series()[1].points[2].value, 0.5);
    QCOMPARE(dash.accuracyChart()->series()[0].points.size(), size_t(1)); // test accuracy by default
    // Only `method` differs between these two.
    QCOMPARE(dash.diffModel()->rowCount(), 1);
    QCOMPARE(dash.diffModel()->headerData(0, Qt::Vertical, Qt::DisplayRole).toString(), QStringLiteral("method"));
    // The figure: every finished run, one line per method.
    QCOMPARE(dash.accuracyVsSparsityChart()->seriesCount(), 3);
    QVERIFY(dash.message().isEmpty());
}

void TestCompareDashboard::dashboardSmoothingChangesTheCurves() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    int64_t a = 0;
    {
        RunStore store(db.toStdString());
        a = addRun(store, "srigl", 0.9, RunStatus::Finished, 0.9);
        store.addMetrics(a, {{1, "train_loss", 4.0}, {2, "train_loss", 2.0}, {3, "train_loss", 0.0}});
    }
    StoreReader reader;
    CompareDashboard dash(reader);
    dash.openDatabase(db);
    dash.setSelectedRuns({a}); // checked when the list arrives
    dash.setSmoothing(0.5);
    QTRY_VERIFY_WITH_TIMEOUT(dash.lossChart()->seriesCount() == 1 && !dash.loading(), 10000);
    const auto& pts = dash.lossChart()->series().at(0).points;
    QCOMPARE(pts[1].value, 3.0);
    QCOMPARE(pts[2].value, 1.5);
}

void TestCompareDashboard::degreesPutConstantFanInBesideASpread() {
    // SRigL keeps k = 30 of 300 inputs per fc1 neuron at every step; RigL starts the same and
    // spreads from step 100 on. RigL's run has a third layer SRigL's lacks.
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    int64_t srigl = 0, rigl = 0;
    {
        RunStore store(db.toStdString());
        srigl = addRun(store, "srigl", 0.9, RunStatus::Finished, 0.9);
        rigl = addRun(store, "rigl", 0.9, RunStatus::Finished, 0.8);
        addRun(store, "set", 0.9, RunStatus::Finished, 0.8); // not selected
        for (int64_t step : {0, 100, 200}) {
            store.addMasks(srigl, {snapshot(step, constantFanIn("fc1", 100, 300, 30)),
                                   snapshot(step, constantFanIn("fc2", 10, 100, 10))});
            store.addMasks(rigl, {snapshot(step, step == 0 ? constantFanIn("fc1", 100, 300, 30) : spreadFanIn("fc1", 100, 300)),
                                  snapshot(step, constantFanIn("fc2", 10, 100, 10)),
                                  snapshot(step, constantFanIn("fc3", 5, 10, 3))});
        }
    }
    StoreReader reader;
    CompareDashboard dash(reader);
    auto* degrees = dash.degreeComparison();
    dash.resize(1400, 800);
    dash.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dash));
    dash.showDegrees();
    dash.openDatabase(db);
    dash.setSelectedRuns({srigl, rigl});
    QTRY_VERIFY_WITH_TIMEOUT(degrees->columns() == 2 && !degrees->loading(), 10000);

    // The layers both runs have, in record order; the first is shown at each run's final mask.
    QCOMPARE(comboItems(degrees->layerCombo()), (QStringList{"fc1", "fc2"}));
    QCOMPARE(degrees->layerCombo()->currentText(), QStringLiteral("fc1"));
    QCOMPARE(degrees->headingText(0), QStringLiteral("srigl 90% synthetic"));
    QCOMPARE(degrees->headingText(1), QStringLiteral("rigl 90% synthetic"));
    QVERIFY2(degrees->stepText(1).contains(QStringLiteral("mask at step 200 of 200")), qPrintable(degrees->stepText(1)));

    // SRigL: one bar, at k. RigL: many. The same bins and the same count axis for both.
    const auto* a = degrees->fanInChart(0);
    const auto* b = degrees->fanInChart(1);
    QCOMPARE(occupied(a), 1);
    for (const auto& bar : a->bars())
        if (bar.count > 0) {
            QCOMPARE(bar.label, QStringLiteral("30"));
            QCOMPARE(bar.count, int64_t(100));
        }
    QVERIFY2(occupied(b) > 10, qPrintable(QString::number(occupied(b))));
    QCOMPARE(barLabels(a), barLabels(b));
    QCOMPARE(countAxisMax(a), countAxisMax(b));
    QVERIFY(countAxisMax(a) >= 100.0);
    QCOMPARE(barLabels(degrees->outDegreeChart(0)), barLabels(degrees->outDegreeChart(1)));
    QCOMPARE(countAxisMax(degrees->outDegreeChart(0)), countAxisMax(degrees->outDegreeChart(1)));
    QVERIFY(degrees->summaryText(0).contains(QStringLiteral("constant fan-in 30")));
    QVERIFY(!degrees->summaryText(1).contains(QStringLiteral("constant")));
    // Each chart on its own scale when asked: RigL's tallest bar is far below SRigL's spike.
    degrees->setSharedCountAxis(false);
    QVERIFY(countAxisMax(b) < countAxisMax(a));
    degrees->setSharedCountAxis(true);

    // Half-way (the stored runs say 100 steps, but masks go to step 200: 200 counts), RigL had
    // spread already; at the start it was constant too.
    degrees->setFraction(0.5);
    QTRY_VERIFY_WITH_TIMEOUT(!degrees->loading() && degrees->stepText(1).contains(QStringLiteral("step 100 ")), 10000);
    QVERIFY(occupied(degrees->fanInChart(1)) > 10);
    degrees->setFraction(0.0);
    QTRY_VERIFY_WITH_TIMEOUT(!degrees->loading() && degrees->stepText(1).contains(QStringLiteral("step 0 ")), 10000);
    QCOMPARE(occupied(degrees->fanInChart(1)), 1);
    degrees->setFraction(1.0);
    QTRY_VERIFY_WITH_TIMEOUT(!degrees->loading() && occupied(degrees->fanInChart(1)) > 10, 10000);

    // Another layer: fc2 is SRigL's last (out-degree of its inputs), RigL's fc3 reads it.
    degrees->setLayer(QStringLiteral("fc2"));
    QTRY_VERIFY_WITH_TIMEOUT(!degrees->loading() && degrees->layerCombo()->currentText() == QStringLiteral("fc2"), 10000);
    QVERIFY(degrees->summaryText(0).contains(QStringLiteral("Out-degree of the 100 inputs")));
    QVERIFY2(degrees->summaryText(1).contains(QStringLiteral("Out-degree in fc3")), qPrintable(degrees->summaryText(1)));
    QCOMPARE(comboItems(degrees->layerCombo()), (QStringList{"fc1", "fc2"}));

    // Unticking a run drops its column.
    dash.setSelectedRuns({rigl});
    QTRY_VERIFY_WITH_TIMEOUT(degrees->columns() == 1 && !degrees->loading(), 10000);
    QCOMPARE(comboItems(degrees->layerCombo()), (QStringList{"fc1", "fc2", "fc3"}));
}

void TestCompareDashboard::degreesOfTrainedSriglRiglAndSetRuns() {
    QTemporaryDir dir;
    const QString db = dir.filePath("trained.db");
    const int64_t srigl = trainTinyRun(db, "srigl");
    const int64_t rigl = trainTinyRun(db, "rigl");
    const int64_t set = trainTinyRun(db, "set");
    QVERIFY(srigl > 0 && rigl > 0 && set > 0);
    StoreReader reader;
    CompareDashboard dash(reader);
    auto* degrees = dash.degreeComparison();
    dash.openDatabase(db);
    dash.setSelectedRuns({srigl, rigl, set});
    QTRY_VERIFY_WITH_TIMEOUT(!dash.loading() && dash.selectedRuns().size() == 3, 10000);
    // Hidden, the page reads no mask; shown, it does.
    QCOMPARE(degrees->columns(), 0);
    dash.resize(1500, 860);
    dash.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dash));
    dash.showDegrees();
    QTRY_VERIFY_WITH_TIMEOUT(degrees->columns() == 3 && !degrees->loading(), 10000);
    // fc2 (128 -> 64): SRigL's active neurons all keep k; RigL's and SET's spread.
    degrees->setLayer(QStringLiteral("fc2"));
    QTRY_VERIFY_WITH_TIMEOUT(!degrees->loading() && degrees->layerCombo()->currentText() == QStringLiteral("fc2"), 10000);
    QVERIFY2(degrees->summaryText(0).contains(QStringLiteral("constant fan-in")), qPrintable(degrees->summaryText(0)));
    QVERIFY2(occupied(degrees->fanInChart(1)) > 1, qPrintable(degrees->summaryText(1)));
    QVERIFY2(occupied(degrees->fanInChart(2)) > 1, qPrintable(degrees->summaryText(2)));
    QCOMPARE(barLabels(degrees->fanInChart(0)), barLabels(degrees->fanInChart(1)));
    QCOMPARE(barLabels(degrees->fanInChart(0)), barLabels(degrees->fanInChart(2)));

    // The picture shows fc1, whose out-degree in the sparse fc2 spreads for every method (fc3, the
    // classifier, is dense: every fc2 neuron is read 10 times).
    degrees->setLayer(QStringLiteral("fc1"));
    QTRY_VERIFY_WITH_TIMEOUT(!degrees->loading() && degrees->layerCombo()->currentText() == QStringLiteral("fc1"), 10000);
    QVERIFY2(degrees->summaryText(0).contains(QStringLiteral("constant fan-in")), qPrintable(degrees->summaryText(0)));
    QVERIFY(occupied(degrees->fanInChart(1)) > 1);
    QCOMPARE(countAxisMax(degrees->outDegreeChart(0)), countAxisMax(degrees->outDegreeChart(2)));

    const QString shots = qEnvironmentVariable("SRIGL_SHOT_DIR");
    if (!shots.isEmpty()) {
        QTest::qWait(200); // the charts lay out their axes in the event loop
        QDir().mkpath(shots);
        QVERIFY(degrees->grab().save(QDir(shots).filePath(QStringLiteral("studio_compare_degrees.png"))));
    }
}

QTEST_MAIN(TestCompareDashboard)
#include "test_compare_dashboard.moc"
