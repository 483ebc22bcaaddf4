// Mask-update schedule (update steps, cosine drop fraction, gradient accumulation window, count)
// and learning-rate schedules (constant, step milestones in epochs, cosine with linear warm-up).
#include <QtTest>

#include "engine/errors.hpp"
#include "engine/sparsity/update_schedule.hpp"
#include "engine/training/lr_schedule.hpp"

#include <cmath>
#include <vector>

using namespace srigl;

namespace {

struct Case {
    int64_t deltaT;
    double alpha;
    double tEnd;
    int64_t total;
};

const std::vector<Case>& cases() {
    static const std::vector<Case> c = {
        {100, 0.3, 0.75, 1000}, // T_end 750
        {100, 0.3, 0.75, 400},  // T_end 300: a multiple of deltaT, which is NOT an update step
        {4, 0.3, 0.75, 20},     // T_end 15
        {7, 0.5, 0.75, 101},    // T_end 75 (floor of 75.75)
        {1, 0.3, 0.75, 10},     // T_end 7: every step 1..6
        {50, 0.3, 1.0, 200},    // T_end 200
        {100, 0.3, 0.75, 100},  // T_end 75 < deltaT: no update at all
        {3, 0.2, 0.5, 31},      // T_end 15
    };
    return c;
}

int64_t expectedTEnd(const Case& c) { return static_cast<int64_t>(std::floor(c.tEnd * static_cast<double>(c.total))); }

// Literal reading of the spec: an update at t when t % deltaT == 0, 0 < t < T_end.
bool literalUpdate(const Case& c, int64_t t) { return t > 0 && t % c.deltaT == 0 && t < expectedTEnd(c); }

QString caseName(const Case& c) {
    return QString("deltaT=%1 alpha=%2 tEnd=%3 total=%4").arg(c.deltaT).arg(c.alpha).arg(c.tEnd).arg(c.total);
}

} // namespace

class TestSchedules : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void tEndIsFloorOfFraction();
    void updateStepsAreMultiplesBelowTEnd();
    void updateStepsExamples();
    void dropFractionCosine();
    void accumulatesGradientWindowOne();
    void accumulatesGradientWindowThree();
    void accumulatesGradientWindowBruteForce();
    void updateCountMatchesBruteForce();
    void lrConstant();
    void lrStepMilestones();
    void lrCosineWarmup();
    void lrCosineNoWarmup();
    void lrUnknownKind();
};

void TestSchedules::tEndIsFloorOfFraction() {
    for (const auto& c : cases()) {
        UpdateSchedule s(c.deltaT, c.alpha, c.tEnd, c.total);
        QCOMPARE(s.tEnd(), expectedTEnd(c));
        QCOMPARE(s.deltaT(), c.deltaT);
    }
    QCOMPARE(UpdateSchedule(100, 0.3, 0.75, 1000).tEnd(), int64_t{750});
    QCOMPARE(UpdateSchedule(100, 0.3, 0.75, 1001).tEnd(), int64_t{750});
    QCOMPARE(UpdateSchedule(100, 0.3, 0.75, 1003).tEnd(), int64_t{752});
}

void TestSchedules::updateStepsAreMultiplesBelowTEnd() {
    for (const auto& c : cases()) {
        UpdateSchedule s(c.deltaT, c.alpha, c.tEnd, c.total);
        QVERIFY2(!s.isUpdateStep(0), qPrintable(caseName(c)));
        for (int64_t t = 0; t <= c.total + 2 * c.deltaT; ++t) {
            const bool got = s.isUpdateStep(t);
            QVERIFY2(got == literalUpdate(c, t), qPrintable(caseName(c) + QString(" step %1: got %2").arg(t).arg(got)));
            if (got) {
                QVERIFY(t % c.deltaT == 0);
                QVERIFY(t < s.tEnd());
                QVERIFY(t > 0);
            }
        }
    }
}

void TestSchedules::updateStepsExamples() {
    UpdateSchedule s(4, 0.3, 0.75, 20); // T_end 15
    std::vector<int64_t> got;
    for (int64_t t = 0; t <= 40; ++t)
        if (s.isUpdateStep(t)) got.push_back(t);
    QCOMPARE(got, (std::vector<int64_t>{4, 8, 12}));

    UpdateSchedule exact(100, 0.3, 0.75, 400); // T_end 300 itself is not an update
    got.clear();
    for (int64_t t = 0; t <= 400; ++t)
        if (exact.isUpdateStep(t)) got.push_back(t);
    QCOMPARE(got, (std::vector<int64_t>{100, 200}));
}

void TestSchedules::dropFractionCosine() {
    for (const auto& c : cases()) {
        UpdateSchedule s(c.deltaT, c.alpha, c.tEnd, c.total);
        const int64_t te = s.tEnd();
        if (te <= 0) continue;
        QVERIFY2(std::abs(s.dropFraction(0) - c.alpha) < 1e-12, qPrintable(caseName(c)));
        QVERIFY2(std::abs(s.dropFraction(te) - 0.0) < 1e-12, qPrintable(caseName(c)));
        if (te % 2 == 0) QVERIFY2(std::abs(s.dropFraction(te / 2) - c.alpha / 2) < 1e-12, qPrintable(caseName(c)));
        double previous = s.dropFraction(0);
        for (int64_t t = 1; t <= te; ++t) {
            const double f = s.dropFraction(t);
            const double expected = c.alpha / 2.0 * (1.0 + std::cos(M_PI * static_cast<double>(t) / static_cast<double>(te)));
            QVERIFY2(std::abs(f - expected) < 1e-12, qPrintable(caseName(c) + QString(" t=%1: %2 vs %3").arg(t).arg(f).arg(expected)));
            QVERIFY(f <= previous + 1e-15); // decays monotonically
            QVERIFY(f >= 0.0 && f <= c.alpha);
            previous = f;
        }
    }
    UpdateSchedule s(100, 0.3, 0.75, 1000); // T_end 750
    QVERIFY(std::abs(s.dropFraction(375) - 0.15) < 1e-12);
    QVERIFY(std::abs(s.dropFraction(250) - 0.15 * 1.5) < 1e-12); // cos(pi/3) = 0.5
}

void TestSchedules::accumulatesGradientWindowOne() {
    for (const auto& c : cases()) {
        UpdateSchedule s(c.deltaT, c.alpha, c.tEnd, c.total);
        for (int64_t t = 1; t <= c.total; ++t)
            QVERIFY2(s.accumulatesGradient(t, 1) == s.isUpdateStep(t),
                     qPrintable(caseName(c) + QString(" step %1").arg(t)));
    }
}

void TestSchedules::accumulatesGradientWindowThree() {
    UpdateSchedule s(10, 0.3, 0.75, 80); // T_end 60: updates 10..50
    std::vector<int64_t> got;
    for (int64_t t = 1; t <= 80; ++t)
        if (s.accumulatesGradient(t, 3)) got.push_back(t);
    QCOMPARE(got, (std::vector<int64_t>{8, 9, 10, 18, 19, 20, 28, 29, 30, 38, 39, 40, 48, 49, 50}));
    // Nothing at or after T_end (58..60 would feed an update at 60, which never happens).
    for (int64_t t = s.tEnd(); t <= 200; ++t) QVERIFY2(!s.accumulatesGradient(t, 3), qPrintable(QString("step %1").arg(t)));
}

void TestSchedules::accumulatesGradientWindowBruteForce() {
    for (const auto& c : cases()) {
        UpdateSchedule s(c.deltaT, c.alpha, c.tEnd, c.total);
        std::vector<int64_t> windows = {1, 2, 3, c.deltaT};
        for (int64_t w : windows) {
            if (w > c.deltaT) continue; // validation forbids grad_accumulation > delta_t
            int64_t marked = 0;
            for (int64_t t = 1; t <= c.total + c.deltaT; ++t) {
                // Brute force: some literal update step u with u - w < t <= u.
                bool expected = false;
                for (int64_t u = t; u < t + w; ++u)
                    if (literalUpdate(c, u)) expected = true;
                const bool got = s.accumulatesGradient(t, w);
                QVERIFY2(got == expected,
                         qPrintable(caseName(c) + QString(" window %1 step %2: got %3").arg(w).arg(t).arg(got)));
                if (got) {
                    ++marked;
                    QVERIFY(t < s.tEnd());
                }
            }
            QCOMPARE(marked, w * s.updateCount()); // exactly `window` steps per update
        }
    }
}

void TestSchedules::updateCountMatchesBruteForce() {
    for (const auto& c : cases()) {
        UpdateSchedule s(c.deltaT, c.alpha, c.tEnd, c.total);
        int64_t count = 0;
        for (int64_t t = 0; t <= c.total; ++t)
            if (literalUpdate(c, t)) ++count;
        QVERIFY2(s.updateCount() == count, qPrintable(caseName(c) + QString(": %1 vs %2").arg(s.updateCount()).arg(count)));
    }
    // A sweep over many (deltaT, total) pairs.
    for (int64_t dt = 1; dt <= 12; ++dt)
        for (int64_t total = 0; total <= 120; ++total) {
            Case c{dt, 0.3, 0.75, total};
            UpdateSchedule s(dt, 0.3, 0.75, total);
            int64_t count = 0;
            for (int64_t t = 0; t <= total; ++t)
                if (literalUpdate(c, t)) ++count;
            QVERIFY2(s.updateCount() == count, qPrintable(caseName(c) + QString(": %1 vs %2").arg(s.updateCount()).arg(count)));
        }
}

void TestSchedules::lrConstant() {
    LrSchedule lr("constant", 0.1, 10, 100);
    for (int64_t t = 1; t <= 100; ++t) QCOMPARE(lr.at(t), 0.1);
}

void TestSchedules::lrStepMilestones() {
    // 10 steps per epoch; milestones at epochs 2 and 4: x0.1 from epoch 2 on, x0.01 from epoch 4 on.
    LrSchedule lr("step", 1.0, 10, 60, {2, 4}, 0.1);
    for (int64_t t = 1; t <= 60; ++t) {
        const int64_t epoch = (t - 1) / 10;
        const double expected = epoch >= 4 ? 0.01 : epoch >= 2 ? 0.1 : 1.0;
        QVERIFY2(std::abs(lr.at(t) - expected) < 1e-12, qPrintable(QString("step %1: %2 vs %3").arg(t).arg(lr.at(t)).arg(expected)));
    }
    // Boundaries: step 20 is the last of epoch 1, step 21 the first of epoch 2.
    QCOMPARE(lr.at(20), 1.0);
    QVERIFY(std::abs(lr.at(21) - 0.1) < 1e-12);
    QVERIFY(std::abs(lr.at(40) - 0.1) < 1e-12);
    QVERIFY(std::abs(lr.at(41) - 0.01) < 1e-12);
    // The SRigL CIFAR recipe shape: 0.1 x0.2 every 77 epochs.
    LrSchedule cifar("step", 0.1, 390, 250 * 390, {77, 154, 231}, 0.2);
    QVERIFY(std::abs(cifar.at(77 * 390) - 0.1) < 1e-12);
    QVERIFY(std::abs(cifar.at(77 * 390 + 1) - 0.02) < 1e-12);
    QVERIFY(std::abs(cifar.at(250 * 390) - 0.1 * 0.2 * 0.2 * 0.2) < 1e-12);
}

void TestSchedules::lrCosineWarmup() {
    const double base = 0.4;
    const int64_t spe = 10, total = 100;
    LrSchedule lr("cosine", base, spe, total, {}, 0.2, 2.0); // 20 warm-up steps
    // Linear rise to base at the end of warm-up.
    for (int64_t t = 1; t <= 20; ++t)
        QVERIFY2(std::abs(lr.at(t) - base * static_cast<double>(t) / 20.0) < 1e-12,
                 qPrintable(QString("warm-up step %1: %2").arg(t).arg(lr.at(t))));
    QVERIFY(std::abs(lr.at(20) - base) < 1e-12);
    QVERIFY(lr.at(1) > 0.0);
    // Then a cosine decay from base to ~0 at the last step, never increasing.
    double previous = lr.at(20);
    for (int64_t t = 21; t <= total; ++t) {
        const double v = lr.at(t);
        QVERIFY2(v <= previous + 1e-15, qPrintable(QString("step %1 increased").arg(t)));
        QVERIFY(v >= 0.0 && v <= base);
        previous = v;
    }
    QVERIFY2(lr.at(total) < 1e-9, qPrintable(QString("lr at the end %1").arg(lr.at(total))));
    QVERIFY(lr.at(total - 1) > 0.0);
    // Half-way through the decay the lr is half the base.
    QVERIFY2(std::abs(lr.at(20 + 40) - base / 2) < 1e-12, qPrintable(QString::number(lr.at(60))));
}

void TestSchedules::lrCosineNoWarmup() {
    LrSchedule lr("cosine", 1.0, 10, 100);
    QVERIFY(std::abs(lr.at(1) - 0.5 * (1.0 + std::cos(M_PI / 100.0))) < 1e-12);
    QVERIFY(std::abs(lr.at(50) - 0.5) < 1e-12);
    QVERIFY(lr.at(100) < 1e-12);
}

void TestSchedules::lrUnknownKind() {
    bool thrown = false;
    try {
        LrSchedule lr("exponential", 0.1, 10, 100);
    } catch (const ConfigError& e) {
        thrown = true;
        QCOMPARE(QString::fromStdString(e.key()), QString("lr_schedule"));
    }
    QVERIFY(thrown);
}

QTEST_GUILESS_MAIN(TestSchedules)
#include "test_schedules.moc"
