// The dense twin a run's step time is compared with (dense_reference_steps): measured once at the
// start and carried by the summary, skipped with its reason when it would not fit, off on request.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/training/dense_reference.hpp"
#include "engine/training/trainer.hpp"

#include <string>
#include <vector>

using namespace srigl;

namespace {

RunConfig tinySrigl() {
    RunConfig c;
    c.hidden = "64,32";
    c.synthetic_train = 512;
    c.synthetic_test = 64;
    c.batch_size = 32;
    c.epochs = 1;
    c.max_steps = 12;
    c.delta_t = 5; // updates at steps 5 and 10
    c.t_end = 1.0;
    c.threads = 1;
    c.log_every = 4;
    return c;
}

struct Listener : TrainingObserver {
    std::vector<DenseReference> references;
    std::vector<double> stepMs;
    void onDenseReference(const DenseReference& r) override { references.push_back(r); }
    void onStep(const StepMetrics& m) override { stepMs.push_back(m.stepMs); }
};

// Restores the trainer's default memory limit however a test ends.
struct MemoryLimit {
    explicit MemoryLimit(int64_t bytes) { setDefaultDenseReferenceMemoryLimit(bytes); }
    ~MemoryLimit() { setDefaultDenseReferenceMemoryLimit(-1); }
};

} // namespace

class TestDenseReference : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void summaryCarriesDenseStepTime();
    void steppedRunMeasuresBeforeItsFirstStep();
    void tooLargeTwinIsSkippedWithItsSize();
    void hugeModelIsEstimatedNotBuilt();
    void zeroStepsTurnsItOff();
    void denseRunHasNoTwin();
    void keyIsValidated();
};

void TestDenseReference::summaryCarriesDenseStepTime() {
    Listener listener;
    Trainer trainer(tinySrigl(), &listener);
    const TrainingSummary s = trainer.run();
    QCOMPARE(listener.references.size(), size_t{1});
    QVERIFY(s.denseReference.measured);
    QVERIFY(s.denseReference.skipped.empty());
    QCOMPARE(s.denseReference.steps, 3);
    QVERIFY(s.denseReference.stepMs > 0);
    QVERIFY(s.denseReference.estimatedBytes > 0);
    QCOMPARE(listener.references.front().stepMs, s.denseReference.stepMs);
    // 12 steps: the first warms up, 5 and 10 update the masks.
    QCOMPARE(s.updates, int64_t{2});
    QCOMPARE(s.timedSteps, int64_t{9});
    QVERIFY(s.stepMs > 0);
    QVERIFY(s.stepMs * static_cast<double>(s.timedSteps) <= 1000.0 * s.seconds);
    QVERIFY(!listener.stepMs.empty());
    QVERIFY(listener.stepMs.back() > 0);
}

void TestDenseReference::steppedRunMeasuresBeforeItsFirstStep() {
    // The Studio's session drives trainStep() itself, without run().
    Listener listener;
    RunConfig c = tinySrigl();
    c.dense_reference_steps = 2;
    Trainer trainer(c, &listener);
    QVERIFY(trainer.trainStep());
    QCOMPARE(listener.references.size(), size_t{1});
    QCOMPARE(listener.references.front().steps, 2);
    while (trainer.trainStep()) {
    }
    const TrainingSummary s = trainer.finish();
    QCOMPARE(listener.references.size(), size_t{1}); // once per trainer
    QVERIFY(s.denseReference.measured);
}

void TestDenseReference::tooLargeTwinIsSkippedWithItsSize() {
    MemoryLimit limit(1000); // bytes: no model fits
    Listener listener;
    Trainer trainer(tinySrigl(), &listener);
    const TrainingSummary s = trainer.run();
    QVERIFY(s.status == TrainingStatus::Finished);
    QVERIFY(!s.denseReference.measured);
    QVERIFY2(s.denseReference.skipped.find("dense twin would need") == 0, s.denseReference.skipped.c_str());
    QVERIFY(s.denseReference.estimatedBytes > 1000);
    QCOMPARE(listener.references.size(), size_t{1});
    QCOMPARE(listener.references.front().skipped, s.denseReference.skipped);
    QVERIFY(s.stepMs > 0); // the run's own step time is still there
}

void TestDenseReference::hugeModelIsEstimatedNotBuilt() {
    RunConfig c;
    c.hidden = "65536,65536";
    c.sparsity = 0.99;
    // 784*65536 + 65536*65536 + 65536*10 weights: ~17.4 GB of floats, three times that with the
    // gradients and the momentum.
    const int64_t bytes = denseTwinBytes(c, DenseReferenceShape{});
    QVERIFY(bytes > int64_t{3} * 17'000'000'000);
    DenseReferenceOptions options;
    options.memoryLimitBytes = int64_t{8} << 30;
    const DenseReference r = measureDenseReference(c, DenseReferenceShape{}, options);
    QVERIFY(!r.measured);
    QCOMPARE(r.estimatedBytes, bytes);
    QVERIFY2(r.skipped.find("dense twin would need ") == 0, r.skipped.c_str());
    QVERIFY2(r.skipped.find("8.6 GB") != std::string::npos, r.skipped.c_str());
}

void TestDenseReference::zeroStepsTurnsItOff() {
    Listener listener;
    RunConfig c = tinySrigl();
    c.dense_reference_steps = 0;
    Trainer trainer(c, &listener);
    const TrainingSummary s = trainer.run();
    QVERIFY(listener.references.empty());
    QVERIFY(!s.denseReference.measured);
    QVERIFY(s.denseReference.skipped.empty());
    QVERIFY(s.stepMs > 0);
}

void TestDenseReference::denseRunHasNoTwin() {
    Listener listener;
    RunConfig c = tinySrigl();
    c.method = "dense";
    Trainer trainer(c, &listener);
    const TrainingSummary s = trainer.run();
    QVERIFY(listener.references.empty());
    QVERIFY(!s.denseReference.measured);
    QCOMPARE(s.timedSteps, int64_t{11}); // no mask updates
}

void TestDenseReference::keyIsValidated() {
    RunConfig c;
    QCOMPARE(c.dense_reference_steps, int64_t{3});
    applyOverride(c, "dense_reference_steps=7");
    QCOMPARE(c.dense_reference_steps, int64_t{7});
    QCOMPARE(configValue(c, "dense_reference_steps"), std::string("7"));
    c.dense_reference_steps = -1;
    try {
        validateConfig(c);
        QFAIL("dense_reference_steps=-1 was accepted");
    } catch (const ConfigError& e) {
        QCOMPARE(e.key(), std::string("dense_reference_steps"));
    }
}

QTEST_GUILESS_MAIN(TestDenseReference)
#include "test_dense_reference.moc"
