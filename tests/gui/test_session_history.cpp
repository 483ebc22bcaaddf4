// The live curves' bookkeeping: sampled reports once each, missed reports detected and filled from
// the recorded series, ETA from training time only (pauses excluded), duration formatting.
#include "widgets/common/session_history.hpp"

#include <QtTest>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

SessionSnapshot report(int64_t step, double loss) {
    SessionSnapshot s;
    s.step = step;
    s.totalSteps = 100;
    StepMetrics m;
    m.step = step;
    m.loss = loss;
    m.accuracy = 1.0 - loss;
    m.elapsedSeconds = 0.5 * static_cast<double>(step);
    s.lastStep = m;
    return s;
}

std::vector<double> steps(const std::vector<CurvePoint>& points) {
    std::vector<double> out;
    for (const auto& p : points) out.push_back(p.step);
    return out;
}

} // namespace

class TestSessionHistory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void eachReportBecomesOnePoint();
    void aMissedReportIsAGap();
    void mergeFillsGapsAndKeepsNewerSamples();
    void evaluationsAreTheirOwnCurve();
    void etaUsesTrainingTimeOnly();
    void durationsAreFormatted();
};

void TestSessionHistory::eachReportBecomesOnePoint() {
    SessionHistory h(10);
    QVERIFY(h.add(report(10, 2.0)));
    QVERIFY(!h.add(report(10, 2.0))); // polled again before the next report
    QVERIFY(h.add(report(20, 1.5)));
    QCOMPARE(steps(h.trainLoss()), (std::vector<double>{10, 20}));
    QCOMPARE(h.trainAccuracy().back().value, -0.5);
    QVERIFY(!h.hasGaps());
}

void TestSessionHistory::aMissedReportIsAGap() {
    SessionHistory h(10);
    h.add(report(10, 2.0));
    h.add(report(40, 1.0)); // 20 and 30 happened between two polls
    QVERIFY(h.hasGaps());
    SessionHistory late(10);
    late.add(report(30, 1.0)); // the first polls came late
    QVERIFY(late.hasGaps());
}

void TestSessionHistory::mergeFillsGapsAndKeepsNewerSamples() {
    SessionHistory h(10);
    h.add(report(10, 2.0));
    h.add(report(50, 1.0));
    QVERIFY(h.hasGaps());
    // The store has reports up to 40 (the recorder writes in batches); 50 is only sampled so far.
    std::vector<CurvePoint> loss = {{10, 2.0}, {20, 1.8}, {30, 1.5}, {40, 1.2}};
    std::vector<CurvePoint> acc = {{10, -1.0}, {20, -0.8}, {30, -0.5}, {40, -0.2}};
    h.mergeRecorded(loss, acc, {}, {});
    QCOMPARE(steps(h.trainLoss()), (std::vector<double>{10, 20, 30, 40, 50}));
    QCOMPARE(steps(h.trainAccuracy()), (std::vector<double>{10, 20, 30, 40, 50}));
    QVERIFY(!h.hasGaps());
    QVERIFY(h.add(report(60, 0.9)));
    QVERIFY(!h.add(report(50, 1.0)));
    QCOMPARE(h.trainLoss().size(), size_t(6));
}

void TestSessionHistory::evaluationsAreTheirOwnCurve() {
    SessionHistory h(10);
    SessionSnapshot s = report(10, 2.0);
    EvalMetrics e;
    e.step = 10;
    e.testLoss = 1.9;
    e.testAccuracy = 0.4;
    s.lastEval = e;
    h.add(s);
    s.lastStep->step = 20;
    h.add(s); // the same evaluation again
    QCOMPARE(h.testLoss().size(), size_t(1));
    QCOMPARE(h.testAccuracy().front().value, 0.4);
}

void TestSessionHistory::etaUsesTrainingTimeOnly() {
    SessionSnapshot s = report(20, 1.0); // 0.5 s per step over 20 steps
    QCOMPARE(etaSeconds(s), 40.0);         // 80 steps left
    s.step = 25;                           // five single steps since the last report
    QCOMPARE(etaSeconds(s), 37.5);
    s.lastStep.reset();
    QCOMPARE(etaSeconds(s), -1.0);
}

void TestSessionHistory::durationsAreFormatted() {
    QCOMPARE(formatDuration(-1), std::string("–"));
    QCOMPARE(formatDuration(5), std::string("0:05"));
    QCOMPARE(formatDuration(65.4), std::string("1:05"));
    QCOMPARE(formatDuration(3723), std::string("1:02:03"));
}

QTEST_MAIN(TestSessionHistory)
#include "test_session_history.moc"
