// The compare dashboard: the config diff lists only keys that differ, EMA smoothing values, the
// accuracy-vs-sparsity grouping of finished runs, and the dock overlaying the selected runs.
#include "sessions/store/run_store.hpp"
#include "widgets/compare/accuracy_vs_sparsity_model.hpp"
#include "widgets/compare/compare_dashboard.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/compare/config_diff_model.hpp"
#include "widgets/common/curve_smoothing.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QComboBox>
#include <QSignalSpy>
#include <QTemporaryDir>
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

QTEST_MAIN(TestCompareDashboard)
#include "test_compare_dashboard.moc"
