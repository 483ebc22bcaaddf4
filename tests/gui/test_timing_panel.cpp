// The timing panel: a tiny bench runs in the background (the UI thread keeps going), stores its
// rows and charts them; cancel stops it and stores nothing; a bad form is refused with a message;
// the speed-up lines group stored rows as the charts need.
#include "sessions/store/run_store.hpp"
#include "widgets/timing/bench_runner.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/timing/timing_panel.hpp"
#include "widgets/timing/timing_series.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QProgressBar>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

TimingRecord row(const std::string& device, int64_t batch, double sparsity, double dense, double condensed,
                 int64_t createdAt = 1, const std::string& layer = "linear") {
    TimingRecord r;
    r.device = device;
    r.layer = layer;
    r.batch = batch;
    r.sparsity = sparsity;
    r.denseUs = dense;
    r.condensedUs = condensed;
    r.csrUs = NAN;
    r.structuredUs = dense / 2;
    r.createdAt = createdAt;
    return r;
}

void tinyForm(TimingPanel& panel) {
    panel.inEdit()->setValue(64);
    panel.outEdit()->setValue(32);
    panel.sparsitiesEdit()->setText(QStringLiteral("0.5, 0.9"));
    panel.batchesEdit()->setText(QStringLiteral("1, 4"));
    panel.secondsEdit()->setValue(0.01);
}

} // namespace

class TestTimingPanel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void speedupLinesGroupByTheOtherAxis();
    void speedupLinesSkipOtherDevicesModelsAndMissingVariants();
    void speedupLinesKeepTheLatestRepeat();
    void tinyBenchRunsInTheBackgroundAndStoresRows();
    void cancelStopsWithoutStoring();
    void badFormIsRefused();
};

void TestTimingPanel::speedupLinesGroupByTheOtherAxis() {
    const std::vector<TimingRecord> rows{row("cpu", 1, 0.9, 100, 20), row("cpu", 64, 0.9, 400, 100),
                                         row("cpu", 1, 0.5, 100, 50)};
    const auto byBatch = speedupLines(rows, TimingAxis::Batch, TimingVariant::Condensed);
    QCOMPARE(byBatch.size(), size_t(2));
    QCOMPARE(byBatch[0].name, std::string("50 %"));
    QCOMPARE(byBatch[1].name, std::string("90 %"));
    QCOMPARE(byBatch[1].points.size(), size_t(2));
    QCOMPARE(byBatch[1].points[0].step, 1.0);
    QCOMPARE(byBatch[1].points[0].value, 5.0);
    QCOMPARE(byBatch[1].points[1].value, 4.0);
    const auto bySparsity = speedupLines(rows, TimingAxis::Sparsity, TimingVariant::Structured);
    QCOMPARE(bySparsity.size(), size_t(2));
    QCOMPARE(bySparsity[0].name, std::string("batch 1"));
    QCOMPARE(bySparsity[0].points.size(), size_t(2));
    QCOMPARE(bySparsity[0].points[1].step, 0.9);
    QCOMPARE(bySparsity[0].points[1].value, 2.0);
}

void TestTimingPanel::speedupLinesSkipOtherDevicesModelsAndMissingVariants() {
    const std::vector<TimingRecord> rows{row("cuda", 1, 0.9, 100, 20), row("cpu", 1, 0.9, 100, 20, 1, "model"),
                                         row("cpu", 1, 0.9, 100, 25)};
    const auto lines = speedupLines(rows, TimingAxis::Batch, TimingVariant::Condensed, "cpu");
    QCOMPARE(lines.size(), size_t(1));
    QCOMPARE(lines[0].points.size(), size_t(1));
    QCOMPARE(lines[0].points[0].value, 4.0);
    QVERIFY(speedupLines(rows, TimingAxis::Batch, TimingVariant::Csr, "cpu").empty()); // CSR did not run
    QCOMPARE(speedupLines(rows, TimingAxis::Batch, TimingVariant::Condensed, "cuda")[0].points[0].value, 5.0);
}

void TestTimingPanel::speedupLinesKeepTheLatestRepeat() {
    const std::vector<TimingRecord> rows{row("cpu", 1, 0.9, 100, 20, 200), row("cpu", 1, 0.9, 100, 50, 100)};
    QCOMPARE(speedupLines(rows, TimingAxis::Batch, TimingVariant::Condensed)[0].points[0].value, 5.0);
}

void TestTimingPanel::tinyBenchRunsInTheBackgroundAndStoresRows() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    RunStore(db.toStdString());
    StoreReader reader;
    TimingPanel panel(reader);
    panel.openDatabase(db);
    tinyForm(panel);
    QSignalSpy done(&panel, &TimingPanel::benchFinished);
    QSignalSpy progress(panel.runner(), &BenchRunner::progress);
    QVERIFY(panel.start());
    QVERIFY(panel.isRunning()); // start() returned while the bench runs
    QVERIFY(!panel.start());    // one at a time
    QVERIFY(panel.message().contains("already running"));
    QVERIFY(done.wait(120000));
    QCOMPARE(done.at(0).at(0).toBool(), true);
    QVERIFY(progress.count() >= 4);
    QCOMPARE(progress.last().at(0).toLongLong(), qint64(4));
    QVERIFY2(panel.message().contains("Stored 4"), qPrintable(panel.message()));
    QCOMPARE(RunStore(db.toStdString()).timings().size(), size_t(4));
    QTRY_COMPARE_WITH_TIMEOUT(panel.resultsTable()->rowCount(), 4, 10000); // read back in the background
    QCOMPARE(panel.batchChart()->seriesCount(), 2);    // one line per sparsity
    QCOMPARE(panel.sparsityChart()->seriesCount(), 2); // one line per batch size
}

void TestTimingPanel::cancelStopsWithoutStoring() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    RunStore(db.toStdString());
    StoreReader reader;
    TimingPanel panel(reader);
    panel.openDatabase(db);
    panel.inEdit()->setValue(1024);
    panel.outEdit()->setValue(1024);
    panel.sparsitiesEdit()->setText(QStringLiteral("0.5, 0.8, 0.9, 0.95"));
    panel.batchesEdit()->setText(QStringLiteral("1, 16, 64, 256"));
    panel.secondsEdit()->setValue(2.0); // 16 cases of at least 8 s each: far longer than the test waits
    QSignalSpy done(&panel, &TimingPanel::benchFinished);
    QVERIFY(panel.start());
    QTest::qWait(300);
    panel.cancel();
    QVERIFY(done.wait(60000));
    QCOMPARE(done.at(0).at(0).toBool(), false);
    QCOMPARE(done.at(0).at(1).toBool(), true);
    QVERIFY(!panel.isRunning());
    QCOMPARE(RunStore(db.toStdString()).timings().size(), size_t(0));
    QCOMPARE(panel.resultsTable()->rowCount(), 0);
    QVERIFY(panel.message().contains("cancelled"));
}

void TestTimingPanel::badFormIsRefused() {
    QTemporaryDir dir;
    StoreReader reader;
    TimingPanel panel(reader);
    panel.openDatabase(dir.filePath("runs.db"));
    panel.sparsitiesEdit()->setText(QStringLiteral("0.5, x"));
    QVERIFY(!panel.start());
    QVERIFY2(panel.message().contains("'x' is not a number"), qPrintable(panel.message()));
    panel.sparsitiesEdit()->setText(QStringLiteral("1.5"));
    QVERIFY(!panel.start());
    QVERIFY(panel.message().contains("not in [0, 1)"));
    panel.sparsitiesEdit()->setText(QStringLiteral("0.9"));
    panel.batchesEdit()->setText(QStringLiteral("2.5"));
    QVERIFY(!panel.start());
    QVERIFY(panel.message().contains("positive whole number"));
    QVERIFY(!panel.isRunning());
}

QTEST_MAIN(TestTimingPanel)
#include "test_timing_panel.moc"
