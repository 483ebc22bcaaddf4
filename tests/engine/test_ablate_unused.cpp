// The SRigL variant ablate_unused: at every update a neuron that no kept weight of the next layer
// reads is ablated too and its budget goes to the layer's other neurons. After each update no
// active neuron feeds nothing (unless the k <= fan_in floor stops it), every active neuron keeps
// exactly k, the budget holds, and both compute paths and both rule implementations agree.
#include <QtTest>

#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"
#include "engine/sparsity/mask_update.hpp"
#include "engine/training/trainer.hpp"

using namespace srigl;

class TestAblateUnused : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void forcingKeepsEnoughNeurons();
    void bothRuleImplementationsAgree();
    void noActiveNeuronFeedsNothing();
    void badConfigsNameTheKey();
};

namespace {

bool bit(const LayerMaskSnapshot& m, int64_t r, int64_t c) {
    const int64_t e = r * m.fanIn + c;
    return m.bits[size_t(e / 8)] >> (e % 8) & 1;
}

// After every mask update: active neurons of each hidden layer that the next layer never reads,
// and the invariants of SRigL.
class Checker : public TrainingObserver {
public:
    Trainer* trainer = nullptr;
    int updates = 0;
    int64_t unusedActive = 0; // summed over updates and layers
    QStringList problems;

    void onMaskUpdate(const MaskUpdateEvent& e) override {
        ++updates;
        const auto masks = trainer->maskSnapshot();
        for (size_t l = 0; l < masks.size(); ++l) {
            const auto& m = masks[l];
            const LayerUpdateStats* stats = nullptr;
            for (const auto& s : e.layers)
                if (s.name == m.name) stats = &s;
            int64_t nnz = 0;
            std::vector<bool> active(size_t(m.outFeatures));
            for (int64_t r = 0; r < m.outFeatures; ++r) {
                int64_t fanIn = 0;
                for (int64_t c = 0; c < m.fanIn; ++c) fanIn += bit(m, r, c);
                nnz += fanIn;
                active[size_t(r)] = fanIn > 0;
                if (fanIn > 0 && stats && fanIn != stats->k)
                    problems << QStringLiteral("%1 row %2 keeps %3, k %4").arg(QString::fromStdString(m.name)).arg(r).arg(fanIn).arg(stats->k);
            }
            if (stats && nnz > stats->k * stats->active)
                problems << QStringLiteral("%1 over budget").arg(QString::fromStdString(m.name));
            if (l + 1 == masks.size()) continue;
            const auto& next = masks[l + 1];
            for (int64_t r = 0; r < m.outFeatures; ++r) {
                if (!active[size_t(r)]) continue;
                bool read = false;
                for (int64_t o = 0; o < next.outFeatures && !read; ++o) read = bit(next, o, r);
                unusedActive += !read;
            }
        }
    }
};

RunConfig mlp97(bool variant, const char* compute) {
    RunConfig c;
    c.synthetic_train = 512;
    c.synthetic_test = 64;
    c.hidden = "128,64";
    c.batch_size = 32;
    c.epochs = 2; // 32 steps
    c.sparsity = 0.97;
    c.distribution = "erk";
    c.delta_t = 4;
    c.alpha = 0.5;
    c.t_end = 1.0;
    c.gamma_sal = 0.3;
    c.threads = 1;
    c.dense_reference_steps = 0;
    c.sparse_compute = compute;
    c.ablate_unused = variant;
    return c;
}

} // namespace

void TestAblateUnused::forcingKeepsEnoughNeurons() {
    SriglParams p;
    p.budget = 12; // fan-in 4: at least floor(12 / 5) + 1 = 3 active neurons
    p.forceAblate = {1, 1, 1, 1, 0, 0};
    std::vector<uint8_t> ablated(6, 0);
    sriglForceAblation(ablated, p, 4);
    QCOMPARE(ablated, (std::vector<uint8_t>{1, 1, 1, 0, 0, 0})); // stops at 3 active
    p.allowAblation = false; // the output layer
    std::vector<uint8_t> none(6, 0);
    sriglForceAblation(none, p, 4);
    QCOMPARE(none, std::vector<uint8_t>(6, 0));
}

void TestAblateUnused::bothRuleImplementationsAgree() {
    torch::manual_seed(3);
    const int64_t out = 24, in = 40, k = 4;
    auto w = torch::randn({out, in});
    auto g = torch::randn({out, in});
    auto mask = torch::zeros({out, in}, torch::kBool);
    for (int64_t r = 0; r < out; ++r) mask[r].index_put_({torch::randperm(in).slice(0, 0, k)}, true);
    w *= mask;
    SriglParams p;
    p.budget = out * k;
    p.gammaSal = 0.3;
    p.forceAblate.assign(size_t(out), 0);
    for (int64_t r = 0; r < out; r += 5) p.forceAblate[size_t(r)] = 1;
    const auto a = sriglUpdateTensorOps(w, mask, g, 0.3, p);
    const auto b = sriglUpdateCpu(w, mask, g, 0.3, p);
    QVERIFY(torch::equal(a.mask, b.mask));
    QCOMPARE(a.k, b.k);
    for (int64_t r = 0; r < out; r += 5) QVERIFY(!a.mask[r].any().item<bool>());
    QVERIFY(a.k > k); // the ablated neurons' budget went to the others
}

void TestAblateUnused::noActiveNeuronFeedsNothing() {
    for (const char* compute : {"masked_dense", "condensed"}) {
        Checker plain, variant;
        Trainer a(mlp97(false, compute), &plain), b(mlp97(true, compute), &variant);
        plain.trainer = &a;
        variant.trainer = &b;
        a.run();
        b.run();
        QVERIFY(variant.updates >= 6);
        QVERIFY2(variant.problems.isEmpty(), qPrintable(variant.problems.join('\n')));
        QVERIFY2(plain.problems.isEmpty(), qPrintable(plain.problems.join('\n')));
        // At 97% plain SRigL leaves neurons that feed nothing; the variant leaves none.
        QVERIFY2(plain.unusedActive > 0, compute);
        QCOMPARE(variant.unusedActive, int64_t{0});
    }
}

void TestAblateUnused::badConfigsNameTheKey() {
    for (auto change : std::vector<std::function<void(RunConfig&)>>{[](RunConfig& c) { c.method = "rigl"; },
                                                                    [](RunConfig& c) { c.model = "resnet18"; }}) {
        RunConfig c = mlp97(true, "auto");
        change(c);
        try {
            validateConfig(c);
            QFAIL("accepted");
        } catch (const ConfigError& e) {
            QCOMPARE(e.key(), std::string("ablate_unused"));
        }
    }
}

QTEST_GUILESS_MAIN(TestAblateUnused)
#include "test_ablate_unused.moc"
