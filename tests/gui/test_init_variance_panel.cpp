// The init-variance dock offscreen: a small analysis runs on the worker thread and the chart's
// four lines and the table hold exactly what the facade (the engine) computes for the same
// settings and seed; the spread measure switches the chart; a cancelled analysis shows nothing of
// itself (the previous result stays whole); bad input shows the engine's own message. With
// SRIGL_SCREENSHOT_DIR set it saves studio_init_variance.png of the dock with its default sweep.
#include "sessions/session/init_variance_job.hpp"
#include "widgets/jobs/init_variance_panel.hpp"
#include "widgets/jobs/init_variance_series.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QComboBox>
#include <QDir>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QtTest>

#include <cmath>
#include <optional>
#include <string>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

void fillSmall(InitVariancePanel& p) {
    p.outEdit()->setValue(12);
    p.inEdit()->setValue(48);
    p.sparsitiesEdit()->setText(QStringLiteral("0.5, 0.75, 0.9"));
    p.nmEdit()->clear();
    p.samplesEdit()->setValue(20);
    p.seedEdit()->setValue(7);
}

// Runs the panel's analysis to its end; returns analysisFinished's (ok, cancelled).
std::pair<bool, bool> runToEnd(InitVariancePanel& p, bool cancelAtOnce = false) {
    QSignalSpy done(&p, &InitVariancePanel::analysisFinished);
    if (!p.start()) return {false, false};
    if (cancelAtOnce) p.cancel();
    if (!done.wait(120000)) return {false, false};
    return {done.at(0).at(0).toBool(), done.at(0).at(1).toBool()};
}

std::optional<std::string> engineMessage(const InitVarianceJobSettings& s) {
    try {
        runInitVarianceJob(s);
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
    return std::nullopt;
}

// The chart and table agree with `points`, in the panel's current spread measure.
void checkShown(const InitVariancePanel& p, const std::vector<InitVariancePoint>& points, InitSpread spread) {
    const auto& series = p.chart()->series();
    QCOMPARE(static_cast<int>(series.size()), kInitStructures);
    for (int s = 0; s < kInitStructures; ++s) {
        QCOMPARE(series[static_cast<size_t>(s)].name, structureName(s));
        QCOMPARE(series[static_cast<size_t>(s)].points.size(), points.size());
        for (size_t i = 0; i < points.size(); ++i) {
            QCOMPARE(series[static_cast<size_t>(s)].points[i].step, points[i].sparsity);
            QCOMPARE(series[static_cast<size_t>(s)].points[i].value, spreadOf(structureStats(points[i], s), spread));
        }
    }
    QCOMPARE(p.table()->rowCount(), static_cast<int>(points.size()) * kInitStructures);
    const auto rows = initVarianceRows(points);
    for (int r = 0; r < p.table()->rowCount(); ++r)
        for (int c = 0; c < p.table()->columnCount(); ++c)
            QCOMPARE(p.table()->item(r, c)->text(), rows[static_cast<size_t>(r)][c]);
}

} // namespace

class TestInitVariancePanel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void chartAndTableAreTheEnginesResult();
    void spreadMeasureSwitchesTheChart();
    void cancelShowsNothingOfTheCancelledRun();
    void badInputShowsTheEngineMessage();
    void screenshot();
};

void TestInitVariancePanel::chartAndTableAreTheEnginesResult() {
    InitVariancePanel p;
    fillSmall(p);
    QCOMPARE(p.chart()->seriesCount(), 0); // nothing before the first run
    const auto settings = p.settings();
    QCOMPARE(runToEnd(p), std::make_pair(true, false));
    const auto want = runInitVarianceJob(settings); // same settings and seed
    QCOMPARE(p.points().size(), want.size());
    checkShown(p, want, InitSpread::Variance);
    QCOMPARE(p.progressBar()->value(), p.progressBar()->maximum());
    QCOMPARE(p.progressBar()->maximum(), 3);
    QVERIFY(p.runButton()->isEnabled());
    QVERIFY(!p.cancelButton()->isEnabled());
    QVERIFY2(p.shownCaption().contains(QStringLiteral("Linear 48 -> 12")), qPrintable(p.shownCaption()));
}

void TestInitVariancePanel::spreadMeasureSwitchesTheChart() {
    InitVariancePanel p;
    fillSmall(p);
    p.nmEdit()->setText(QStringLiteral("1:4"));
    QCOMPARE(runToEnd(p), std::make_pair(true, false));
    const auto points = p.points();
    for (const auto& pt : points) QCOMPARE(pt.nm, std::string("1:4"));
    for (InitSpread s : {InitSpread::Std, InitSpread::RelativeStd, InitSpread::Variance}) {
        p.spreadCombo()->setCurrentIndex(p.spreadCombo()->findData(static_cast<int>(s)));
        checkShown(p, points, s);
    }
    const double v = points[0].dense.variance;
    p.spreadCombo()->setCurrentIndex(p.spreadCombo()->findData(static_cast<int>(InitSpread::Std)));
    QCOMPARE(p.chart()->series()[0].points[0].value, std::sqrt(v));
}

void TestInitVariancePanel::cancelShowsNothingOfTheCancelledRun() {
    InitVariancePanel p;
    fillSmall(p);
    // Cancelled before any result: still nothing shown.
    p.samplesEdit()->setValue(3000);
    p.sparsitiesEdit()->setText(QStringLiteral("0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9"));
    QCOMPARE(runToEnd(p, true), std::make_pair(false, true));
    QCOMPARE(p.chart()->seriesCount(), 0);
    QCOMPARE(p.table()->rowCount(), 0);
    QVERIFY(p.points().empty());
    QVERIFY(p.message().contains(QStringLiteral("cancelled")));

    fillSmall(p);
    QCOMPARE(runToEnd(p), std::make_pair(true, false));
    const auto first = p.points();
    const QString caption = p.shownCaption();
    p.samplesEdit()->setValue(3000);
    p.sparsitiesEdit()->setText(QStringLiteral("0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9"));
    QCOMPARE(runToEnd(p, true), std::make_pair(false, true));
    // The previous result, whole: same points, chart, table and caption.
    QCOMPARE(p.points().size(), first.size());
    checkShown(p, first, InitSpread::Variance);
    QCOMPARE(p.shownCaption(), caption);
    QCOMPARE(p.progressBar()->value(), 0);
    QVERIFY(p.runButton()->isEnabled());
}

void TestInitVariancePanel::badInputShowsTheEngineMessage() {
    InitVariancePanel p;
    fillSmall(p);
    QCOMPARE(runToEnd(p), std::make_pair(true, false));
    const auto first = p.points();

    p.sparsitiesEdit()->setText(QStringLiteral("0.5, 1.5"));
    const auto want = engineMessage(p.settings());
    QVERIFY(want && want->find("sparsity must be in [0, 1)") != std::string::npos);
    QCOMPARE(runToEnd(p), std::make_pair(false, false));
    QCOMPARE(p.message(), QString::fromStdString(*want));
    checkShown(p, first, InitSpread::Variance); // the last good result stays

    p.sparsitiesEdit()->setText(QStringLiteral("0.5"));
    p.nmEdit()->setText(QStringLiteral("5:4"));
    const auto nmMessage = engineMessage(p.settings());
    QVERIFY(nmMessage && nmMessage->rfind("nm: ", 0) == 0);
    QCOMPARE(runToEnd(p), std::make_pair(false, false));
    QCOMPARE(p.message(), QString::fromStdString(*nmMessage));

    p.nmEdit()->clear();
    p.outEdit()->setValue(0);
    const auto outMessage = engineMessage(p.settings());
    QVERIFY(outMessage.has_value());
    QCOMPARE(runToEnd(p), std::make_pair(false, false));
    QCOMPARE(p.message(), QString::fromStdString(*outMessage));

    // What does not parse never reaches the engine.
    p.outEdit()->setValue(12);
    p.sparsitiesEdit()->setText(QStringLiteral("0.5, abc"));
    QVERIFY(!p.start());
    QCOMPARE(p.message(), QStringLiteral("sparsities: 'abc' is not a number"));
    QVERIFY(!p.isRunning());
    checkShown(p, first, InitSpread::Variance);
}

void TestInitVariancePanel::screenshot() {
    const QString dir = qEnvironmentVariable("SRIGL_SCREENSHOT_DIR");
    if (dir.isEmpty()) QSKIP("SRIGL_SCREENSHOT_DIR is not set");
    InitVariancePanel p;
    p.resize(1400, 760);
    p.show();
    p.samplesEdit()->setValue(qEnvironmentVariableIntValue("SRIGL_INIT_VARIANCE_SAMPLES") > 0
                                  ? qEnvironmentVariableIntValue("SRIGL_INIT_VARIANCE_SAMPLES")
                                  : 200);
    p.spreadCombo()->setCurrentIndex(p.spreadCombo()->findData(static_cast<int>(InitSpread::RelativeStd)));
    QCOMPARE(runToEnd(p), std::make_pair(true, false));
    QTest::qWait(300);
    QVERIFY(p.grab().save(QDir(dir).filePath(QStringLiteral("studio_init_variance.png"))));
}

QTEST_MAIN(TestInitVariancePanel)
#include "test_init_variance_panel.moc"
