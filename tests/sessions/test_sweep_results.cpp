// A sweep's results as a plot takes them: series per method against sparsity, mean and sample
// standard deviation over seeds, unfinished points left out and counted, and the CSV of it.
#include <QtTest>

#include "sessions/store/sweep_results.hpp"

using namespace srigl::sessions;

class TestSweepResults : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void assignmentKeepsValuesWithSpaces();
    void seriesPerMethodAveragedOverSeeds();
    void nonNumericAxisKeepsGridOrder();
    void csvHasOneRowPerSeriesAndX();
};

namespace {

// method x sparsity x seed, accuracy = base(method) + sparsity-dependent offset + seed noise.
struct Grid {
    std::vector<SweepPointRow> rows;
    std::map<int64_t, double> accuracy;
};

Grid threeAxisGrid() {
    Grid g;
    int64_t point = 0, run = 100;
    for (const std::string method : {"srigl", "rigl"})
        for (const std::string sparsity : {"0.99", "0.9"})
            for (int seed = 1; seed <= 3; ++seed) {
                SweepPointRow row;
                row.point = point++;
                row.assignment = "method=" + method + " sparsity=" + sparsity + " seed=" + std::to_string(seed);
                row.runId = ++run;
                row.status = PointStatus::Finished;
                g.accuracy[row.runId] = (method == "srigl" ? 0.9 : 0.8) + (sparsity == "0.9" ? 0.05 : 0.0) + 0.01 * seed;
                g.rows.push_back(row);
            }
    return g;
}

} // namespace

void TestSweepResults::assignmentKeepsValuesWithSpaces() {
    const auto a = parseAssignment("name=my run 2 hidden=300,100 seed=3", {"name", "hidden", "seed"});
    QCOMPARE(a.size(), size_t{3});
    QCOMPARE(a[0].second, std::string("my run 2"));
    QCOMPARE(a[1].second, std::string("300,100"));
    QCOMPARE(a[2].second, std::string("3"));
    QVERIFY(parseAssignment("seed=3", {"method"}).empty()); // another grid's label
}

void TestSweepResults::seriesPerMethodAveragedOverSeeds() {
    Grid g = threeAxisGrid();
    // One point failed and one never ran: both are left out of the means and counted.
    g.rows[0].status = PointStatus::Failed;
    g.rows[1].runId = 0;
    g.rows[1].status = PointStatus::Pending;
    const auto r = summarizeSweep({"method", "sparsity", "seed"}, g.rows, g.accuracy);
    QCOMPARE(r.xKey, std::string("sparsity"));
    QCOMPARE(r.seriesKey, std::string("method"));
    QCOMPARE(r.averagedKeys, std::vector<std::string>{"seed"});
    QVERIFY(r.numericX);
    QCOMPARE(r.finished, int64_t{10});
    QCOMPARE(r.notFinished, int64_t{2});
    QCOMPARE(r.series.size(), size_t{2});
    QCOMPARE(r.series[0].label, std::string("srigl"));
    const auto& srigl = r.series[0].points;
    QCOMPARE(srigl.size(), size_t{2});
    QCOMPARE(srigl[0].x, std::string("0.9")); // ascending sparsity, whatever the grid's order
    QCOMPARE(srigl[1].x, std::string("0.99"));
    QCOMPARE(srigl[1].count, 1); // seeds 1 and 2 of srigl at 0.99 did not finish
    QCOMPARE(srigl[1].std, 0.0);
    QVERIFY(std::abs(srigl[1].mean - 0.93) < 1e-12);
    QCOMPARE(srigl[0].count, 3);
    QVERIFY(std::abs(srigl[0].mean - 0.97) < 1e-12);
    QVERIFY(std::abs(srigl[0].std - 0.01) < 1e-12); // sample std of 0.96, 0.97, 0.98
    QCOMPARE(r.series[1].label, std::string("rigl"));
    QVERIFY(std::abs(r.series[1].points[1].mean - 0.82) < 1e-12);
}

void TestSweepResults::nonNumericAxisKeepsGridOrder() {
    Grid g = threeAxisGrid();
    const auto r = summarizeSweep({"method", "sparsity", "seed"}, g.rows, g.accuracy, "method", "sparsity");
    QVERIFY(!r.numericX);
    QCOMPARE(r.series.size(), size_t{2});
    QCOMPARE(r.series[0].label, std::string("0.99"));
    QCOMPARE(r.series[0].points[0].x, std::string("srigl"));
    QCOMPARE(r.series[0].points[0].xValue, 0.0);
    QCOMPARE(r.series[0].points[1].x, std::string("rigl"));
    QCOMPARE(r.series[0].points[1].xValue, 1.0);
}

void TestSweepResults::csvHasOneRowPerSeriesAndX() {
    Grid g = threeAxisGrid();
    const auto csv = QString::fromStdString(sweepResultsCsv(summarizeSweep({"method", "sparsity", "seed"}, g.rows, g.accuracy)));
    const auto lines = csv.trimmed().split('\n');
    QCOMPARE(lines.size(), 5);
    QCOMPARE(lines[0], QStringLiteral("method,sparsity,mean_test_accuracy,std,count,values,run_ids"));
    QVERIFY2(lines[1].startsWith(QStringLiteral("srigl,0.9,0.970000,0.010000,3,0.96;0.97;0.98,")), qPrintable(lines[1]));
}

QTEST_GUILESS_MAIN(TestSweepResults)
#include "test_sweep_results.moc"
