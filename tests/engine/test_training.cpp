// Short trainings on the synthetic digits: the invariants hold after every mask update, the
// networks learn, bad runs stop with a clear status.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/training/trainer_internals.hpp"

using namespace srigl;

namespace {

RunConfig smallRun(const std::string& method, double sparsity) {
    RunConfig c;
    c.dataset = "synthetic";
    c.synthetic_train = 2048;
    c.synthetic_test = 512;
    c.model = "mlp";
    c.hidden = "300,100";
    c.method = method;
    c.sparsity = sparsity;
    c.batch_size = 64;
    c.epochs = 2;
    c.delta_t = 8;
    c.threads = 1;
    c.seed = 3;
    // This suite checks the masked-dense path's own invariants (W == W * M, masked gradients and
    // state) through its tensors; test_condensed_trainer covers the condensed path.
    c.sparse_compute = "masked_dense";
    return c;
}

// Checks every invariant of the spec at each mask update, while the trainer is inside it.
class InvariantChecker : public TrainingObserver {
public:
    Trainer* trainer = nullptr;
    std::vector<torch::Tensor> previousMasks;
    int updates = 0;
    QStringList failures;

    // Watches t from now on; its current masks are the baseline for "grown" entries.
    void attach(Trainer& t) {
        trainer = &t;
        remember();
    }
    void remember() {
        previousMasks.clear();
        for (auto& st : trainer->internals().layers) previousMasks.push_back(st.layer->maskMatrix().clone());
    }
    void fail(const QString& what) { failures << what; }

    void onMaskUpdate(const MaskUpdateEvent& event) override {
        ++updates;
        auto& layers = trainer->internals().layers;
        const std::string method = trainer->config().method;
        for (size_t i = 0; i < layers.size(); ++i) {
            auto& st = layers[i];
            auto m = st.layer->maskMatrix();
            auto w = st.layer->weightMatrix();
            auto counts = m.sum(1);
            const int64_t nnz = m.sum().item<int64_t>();
            const auto name = QString::fromStdString(st.name);
            if (method == "srigl" && st.dynamic) {
                const int64_t k = st.last.k;
                auto activeRows = counts > 0;
                if (!torch::all(counts.masked_select(activeRows) == k).item<bool>())
                    fail(name + ": an active neuron does not have exactly k connections");
                if (nnz > st.budget) fail(name + ": budget exceeded");
                if (nnz != k * activeRows.sum().item<int64_t>()) fail(name + ": nnz != k * active");
                if (st.isLast && !torch::all(activeRows).item<bool>()) fail(name + ": output layer ablated");
                if (k > st.layer->fanIn() || k < 1) fail(name + ": k outside [1, fan_in]");
            }
            if ((method == "rigl" || method == "set") && st.dynamic &&
                nnz != previousMasks[i].sum().item<int64_t>())
                fail(name + ": unstructured update changed nnz");
            // Weights outside the mask are zero (ablated rows included), grown weights start at 0.
            if (!torch::all(w.masked_select(~m) == 0).item<bool>()) fail(name + ": weight outside mask");
            auto grown = m & ~previousMasks[i];
            if (!torch::all(w.masked_select(grown) == 0).item<bool>()) fail(name + ": grown weight not zero");
            for (const auto& st2 : trainer->internals().optimizer->state(st.paramIndex))
                if (!torch::all(st2.view_as(m).masked_select(~m) == 0).item<bool>())
                    fail(name + ": optimizer state outside mask");
        }
        for (const auto& l : event.layers)
            if (l.sad != l.pruned + l.regrown) fail("SAD mismatch");
        remember();
    }
};

double trainAndTest(RunConfig c, InvariantChecker* checker = nullptr) {
    Trainer t(c, checker);
    if (checker) checker->attach(t);
    auto s = t.run();
    return s.testAccuracy;
}

} // namespace

class TestTraining : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void denseLearns();
    void sriglNinetyLearnsAndKeepsInvariants();
    void sriglAblatesAtHighSparsity();
    void riglKeepsInvariants();
    void setKeepsInvariants();
    void staticMaskNeverChanges();
    void lenet5TrainsWithSrigl();
    void deterministicForSeed();
    void nonFiniteLossStopsWithStatus();
    void stopRequestStops();
    void impossibleBatchSizeIsRejected();
    void sparsityTooHighIsRejected();
    void resnet18OnCifarFilesKeepsInvariants();
    void wideResNetTrainsWithSrigl();
    void hugeValuesAreRejected();
};

void TestTraining::denseLearns() {
    const double acc = trainAndTest(smallRun("dense", 0.0));
    qInfo() << "dense test accuracy" << acc;
    QVERIFY2(acc > 0.6, qPrintable(QString("dense accuracy %1").arg(acc)));
}

void TestTraining::sriglNinetyLearnsAndKeepsInvariants() {
    InvariantChecker checker;
    const double acc = trainAndTest(smallRun("srigl", 0.9), &checker);
    qInfo() << "srigl 90% test accuracy" << acc << "updates" << checker.updates;
    QVERIFY(checker.updates >= 5);
    QVERIFY2(checker.failures.isEmpty(), qPrintable(checker.failures.join("\n")));
    QVERIFY2(acc > 0.55, qPrintable(QString("srigl accuracy %1").arg(acc)));
}

void TestTraining::sriglAblatesAtHighSparsity() {
    RunConfig c = smallRun("srigl", 0.99);
    c.gamma_sal = 0.9;
    c.distribution = "uniform";
    c.dense_last = true;
    InvariantChecker checker;
    Trainer t(c, &checker);
    checker.attach(t);
    auto s = t.run();
    QVERIFY2(checker.failures.isEmpty(), qPrintable(checker.failures.join("\n")));
    int64_t ablated = 0;
    for (const auto& l : s.layers) ablated += l.ablated;
    QVERIFY2(ablated > 0, "gamma_sal 0.9 at 99% should ablate some neurons");
    for (const auto& l : s.layers) QCOMPARE(l.fanInMin, l.fanInMax);
}

void TestTraining::riglKeepsInvariants() {
    InvariantChecker checker;
    trainAndTest(smallRun("rigl", 0.9), &checker);
    QVERIFY(checker.updates > 0);
    QVERIFY2(checker.failures.isEmpty(), qPrintable(checker.failures.join("\n")));
}

void TestTraining::setKeepsInvariants() {
    InvariantChecker checker;
    trainAndTest(smallRun("set", 0.9), &checker);
    QVERIFY(checker.updates > 0);
    QVERIFY2(checker.failures.isEmpty(), qPrintable(checker.failures.join("\n")));
}

void TestTraining::staticMaskNeverChanges() {
    RunConfig c = smallRun("static", 0.9);
    c.epochs = 1;
    Trainer t(c);
    std::vector<torch::Tensor> before;
    for (auto& st : t.internals().layers) before.push_back(st.layer->mask.clone());
    t.run();
    auto& layers = t.internals().layers;
    for (size_t i = 0; i < layers.size(); ++i) {
        QVERIFY(torch::equal(before[i], layers[i].layer->mask));
        QVERIFY(torch::all(layers[i].layer->weight.masked_select(~layers[i].layer->mask) == 0).item<bool>());
    }
}

void TestTraining::lenet5TrainsWithSrigl() {
    RunConfig c = smallRun("srigl", 0.8);
    c.model = "lenet5";
    c.epochs = 1;
    c.synthetic_train = 1024;
    InvariantChecker checker;
    trainAndTest(c, &checker);
    QVERIFY(checker.updates > 0);
    QVERIFY2(checker.failures.isEmpty(), qPrintable(checker.failures.join("\n")));
}

void TestTraining::deterministicForSeed() {
    RunConfig c = smallRun("srigl", 0.9);
    c.max_steps = 30;
    Trainer a(c), b(c);
    for (int i = 0; i < 30; ++i) {
        QVERIFY(a.trainStep());
        QVERIFY(b.trainStep());
        QCOMPARE(a.lastLoss(), b.lastLoss());
    }
    for (size_t i = 0; i < a.internals().layers.size(); ++i)
        QVERIFY(torch::equal(a.internals().layers[i].layer->mask, b.internals().layers[i].layer->mask));
    c.seed = 4;
    Trainer d(c);
    d.trainStep();
    QVERIFY(!torch::equal(a.internals().layers[0].layer->mask, d.internals().layers[0].layer->mask));
}

void TestTraining::nonFiniteLossStopsWithStatus() {
    RunConfig c = smallRun("srigl", 0.9);
    c.lr = 1e25;
    c.momentum = 0.0;
    Trainer t(c);
    auto s = t.run();
    QVERIFY(s.status == TrainingStatus::Diverged);
    QVERIFY2(QString::fromStdString(s.message).contains("loss became"), s.message.c_str());
    QVERIFY(s.steps < t.totalSteps());
}

void TestTraining::stopRequestStops() {
    RunConfig c = smallRun("srigl", 0.9);
    Trainer t(c);
    QVERIFY(t.trainStep());
    t.requestStop();
    auto s = t.run();
    QVERIFY(s.status == TrainingStatus::Stopped);
    QCOMPARE(s.steps, int64_t{1});
}

void TestTraining::impossibleBatchSizeIsRejected() {
    RunConfig c = smallRun("srigl", 0.9);
    c.batch_size = 100000;
    try {
        Trainer t(c);
        QFAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        QCOMPARE(QString::fromStdString(e.key()), QString("batch_size"));
    }
}

void TestTraining::sparsityTooHighIsRejected() {
    RunConfig c = smallRun("srigl", 0.995);
    c.distribution = "uniform";
    try {
        Trainer t(c);
        QFAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        QCOMPARE(QString::fromStdString(e.key()), QString("sparsity"));
        QVERIFY(QString(e.what()).contains("fc3"));
    }
}

void TestTraining::resnet18OnCifarFilesKeepsInvariants() {
    // Tiny CIFAR-10 binary batches written here: 1 label byte + 3072 pixel bytes per record.
    QTemporaryDir dir;
    auto writeBatch = [&](const QString& name, int records, int offset) {
        QFile f(dir.filePath(name));
        QVERIFY(f.open(QIODevice::WriteOnly));
        for (int r = 0; r < records; ++r) {
            QByteArray rec(3073, 0);
            const int label = (r + offset) % 10;
            rec[0] = static_cast<char>(label);
            // A class-dependent pattern so there is something to learn.
            for (int i = 1; i < 3073; ++i) rec[i] = static_cast<char>((i * (label + 1) + r) % 251);
            f.write(rec);
        }
    };
    for (int b = 1; b <= 5; ++b) writeBatch(QString("data_batch_%1.bin").arg(b), 8, b);
    writeBatch("test_batch.bin", 16, 0);

    RunConfig c = smallRun("srigl", 0.9);
    c.model = "resnet18";
    c.dataset = "cifar10";
    c.data_dir = dir.path().toStdString();
    c.batch_size = 8;
    c.epochs = 2; // 10 steps
    c.delta_t = 2;
    c.gamma_sal = 0.5;
    InvariantChecker checker;
    Trainer t(c, &checker);
    checker.attach(t);
    QCOMPARE(t.internals().layers.size(), size_t{21}); // 17 convs + 3 shortcuts + fc
    auto s = t.run();
    QVERIFY(s.status == TrainingStatus::Finished);
    QVERIFY(checker.updates >= 3);
    QVERIFY2(checker.failures.isEmpty(), qPrintable(checker.failures.join("\n")));
    QVERIFY(std::isfinite(s.trainLoss));
}

void TestTraining::wideResNetTrainsWithSrigl() {
    RunConfig c = smallRun("srigl", 0.9);
    c.model = "wrn22_2";
    c.synthetic_train = 256;
    c.batch_size = 16;
    c.max_steps = 6;
    c.delta_t = 2;
    InvariantChecker checker;
    Trainer t(c, &checker);
    checker.attach(t);
    // conv1, 9 blocks x 2 convs, 3 projection shortcuts, fc.
    QCOMPARE(t.internals().layers.size(), size_t{23});
    auto s = t.run();
    QVERIFY(s.status == TrainingStatus::Finished);
    QVERIFY(checker.updates >= 1);
    QVERIFY2(checker.failures.isEmpty(), qPrintable(checker.failures.join("\n")));
}

void TestTraining::hugeValuesAreRejected() {
    // Values that would overflow step counts or exhaust memory are config errors, not crashes.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"epochs", "1229782938247303442"}, {"hidden", "100000000000"}, {"synthetic_test", "9999999999999"}};
    for (const auto& [key, value] : cases) {
        RunConfig c = smallRun("srigl", 0.9);
        applyOverride(c, key + "=" + value);
        try {
            Trainer t(c);
            QFAIL(qPrintable(QString::fromStdString(key) + " was accepted"));
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.key()), QString::fromStdString(key));
        }
    }
}

QTEST_GUILESS_MAIN(TestTraining)
#include "test_training.moc"
