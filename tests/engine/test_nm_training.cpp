// The N:M training methods (nm_ste, srste, nm_transposable): masks stay N:M (and transposable)
// while training, SR-STE decays only pruned weights, the straight-through estimator keeps pruned
// weights learning, transposable masks change only on schedule, bad values are refused, resume is
// exact.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/models/sparse_layer.hpp"
#include "engine/nm/nm_mask.hpp"
#include "engine/nm/transposable_mask.hpp"
#include "engine/training/trainer_internals.hpp"

#include <functional>

using namespace srigl;

namespace {

RunConfig nmRun(const std::string& method, const std::string& nm) {
    RunConfig c;
    c.synthetic_train = 512;
    c.synthetic_test = 128;
    c.hidden = "64,32";
    c.threads = 1;
    c.method = method;
    c.nm = nm;
    c.batch_size = 32; // 16 steps per epoch
    c.epochs = 1;
    c.lr = 0.05;
    c.nm_update_every = 4;
    return c;
}

// Every full M x M tile of a [out, in] mask keeps exactly N per row and per column.
void checkFullTiles(const torch::Tensor& mask, int n, int m) {
    auto mm = mask.view({mask.size(0), -1});
    const int64_t rows = mm.size(0) / m * m, cols = mm.size(1) / m * m;
    if (rows == 0 || cols == 0) return;
    auto tiles = mm.slice(0, 0, rows).slice(1, 0, cols).to(torch::kInt).reshape({rows / m, m, cols / m, m});
    QVERIFY2((tiles.sum(3) == n).all().item<bool>(), "a tile row does not keep exactly N");
    QVERIFY2((tiles.sum(1) == n).all().item<bool>(), "a tile column does not keep exactly N");
}

void checkValidAfterTraining(const std::string& method, const std::string& nmText) {
    RunConfig c = nmRun(method, nmText);
    const nm::NmPattern p = nm::parseNm(nmText);
    Trainer t(c);
    for (int i = 0; i < 10; ++i) QVERIFY(t.trainStep());
    auto stats = t.layerStats();
    auto& layers = t.internals().layers;
    QCOMPARE(stats.size(), layers.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        const auto& st = layers[i];
        QVERIFY2(st.nm, qPrintable(QString::fromStdString(st.name + " is not an N:M layer")));
        QVERIFY2(nm::nmValid(st.layer->mask, p), qPrintable(QString::fromStdString(st.name + " is not N:M")));
        QCOMPARE(stats[i].nmValid, 1);
        // The dense weights are kept: pruned entries are generally non-zero.
        QVERIFY(st.layer->weightMatrix().masked_select(~st.layer->maskMatrix()).abs().sum().item<double>() > 0);
        if (method == "nm_transposable") {
            QVERIFY(nm::transposableValid(st.layer->mask, p));
            checkFullTiles(st.layer->mask, p.n, p.m);
        } else {
            // Recomputed from the current weights after every step.
            QVERIFY(torch::equal(st.layer->mask, nm::nmMask(st.layer->weight.detach(), p)));
        }
    }
}

struct MaskEvents : TrainingObserver {
    std::vector<MaskUpdateEvent> events;
    void onMaskUpdate(const MaskUpdateEvent& e) override { events.push_back(e); }
};

} // namespace

class TestNmTraining : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void nmSteMasksStayValid();
    void srsteMasksStayValid24();
    void srsteMasksStayValid48();
    void transposableMasksStayValid48();
    void transposableExactSolverValid();
    void srsteDecayOnlyOnPrunedWeights();
    void straightThroughGradientsEqualOldFormulation();
    void steUpdatesPrunedWeights();
    void lossDecreases();
    void transposableMaskChangesOnlyOnSchedule();
    void badNmValuesRejected();
    void srsteResumeExact();
    void transposableResumeExact();

private:
    static void checkResume(const std::string& method, const std::string& nmText, int64_t stopAt) {
        QTemporaryDir dir;
        const std::string ckpt = dir.filePath("run.ckpt").toStdString();
        RunConfig c = nmRun(method, nmText);
        c.epochs = 2;
        c.lr_schedule = "cosine";
        auto finish = [](Trainer& t, std::vector<double>& losses) {
            while (t.trainStep()) losses.push_back(t.lastLoss());
        };
        Trainer full(c);
        for (int64_t i = 0; i < stopAt; ++i) QVERIFY(full.trainStep());
        std::vector<double> reference, continued;
        finish(full, reference);

        Trainer first(c);
        for (int64_t i = 0; i < stopAt; ++i) QVERIFY(first.trainStep());
        first.saveCheckpoint(ckpt);
        Trainer resumed(c);
        resumed.loadCheckpoint(ckpt);
        QCOMPARE(resumed.step(), stopAt);
        finish(resumed, continued);

        QCOMPARE(continued.size(), reference.size());
        for (size_t i = 0; i < reference.size(); ++i)
            QVERIFY2(std::fabs(continued[i] - reference[i]) <= 1e-5 * std::max(1.0, std::fabs(reference[i])),
                     qPrintable(QString("step %1: %2 vs %3").arg(stopAt + 1 + static_cast<int64_t>(i)).arg(continued[i]).arg(reference[i])));
        auto& a = full.internals().layers;
        auto& b = resumed.internals().layers;
        for (size_t i = 0; i < a.size(); ++i) {
            QVERIFY2(torch::equal(a[i].layer->mask, b[i].layer->mask), "masks differ after resume");
            QVERIFY(torch::allclose(a[i].layer->weight, b[i].layer->weight, 1e-5, 1e-6));
        }
        auto sa = full.layerStats(), sb = resumed.layerStats();
        for (size_t i = 0; i < sa.size(); ++i) QCOMPARE(sb[i].sad, sa[i].sad);
    }
};

void TestNmTraining::nmSteMasksStayValid() { checkValidAfterTraining("nm_ste", "2:4"); }

void TestNmTraining::srsteMasksStayValid24() { checkValidAfterTraining("srste", "2:4"); }

void TestNmTraining::srsteMasksStayValid48() { checkValidAfterTraining("srste", "4:8"); }

void TestNmTraining::transposableMasksStayValid48() { checkValidAfterTraining("nm_transposable", "4:8"); }

void TestNmTraining::transposableExactSolverValid() {
    RunConfig c = nmRun("nm_transposable", "2:4");
    c.nm_solver = "exact";
    c.max_steps = 5;
    Trainer t(c);
    while (t.trainStep()) {
    }
    for (const auto& s : t.layerStats()) QCOMPARE(s.nmValid, 1);
}

void TestNmTraining::srsteDecayOnlyOnPrunedWeights() {
    const double decay = 0.05;
    RunConfig plain = nmRun("srste", "2:4");
    plain.srste_decay = 0.0;
    RunConfig decayed = plain;
    decayed.srste_decay = decay;
    Trainer a(plain), b(decayed);
    std::vector<torch::Tensor> w0, m0;
    for (auto& st : a.internals().layers) {
        w0.push_back(st.layer->weight.detach().clone());
        m0.push_back(st.layer->mask.clone());
    }
    QVERIFY(a.trainStep());
    QVERIFY(b.trainStep());
    auto& la = a.internals().layers;
    auto& lb = b.internals().layers;
    for (size_t i = 0; i < la.size(); ++i) {
        auto diff = lb[i].layer->weight.grad() - la[i].layer->weight.grad();
        auto kept = m0[i];
        // Same weights, same batch: the kept entries' gradients are identical ...
        QVERIFY2((diff.masked_select(kept) == 0).all().item<bool>(), "decay reached kept weights");
        // ... and the pruned ones differ by exactly decay * W.
        auto expected = (w0[i] * decay).masked_select(~kept);
        QVERIFY(torch::allclose(diff.masked_select(~kept), expected, 1e-5, 1e-7));
        QVERIFY(expected.abs().sum().item<double>() > 0);
    }
}

void TestNmTraining::straightThroughGradientsEqualOldFormulation() {
    // The custom straight-through node against the formulation it replaced,
    // W + (W * M - W).detach(): same forward value and bit-identical gradients, for a Linear and
    // a Conv2d layer, and the pruned entries do receive gradient (d/dW is the identity).
    torch::manual_seed(3);
    SparseLinear lin(24, 10);
    SparseConv2d conv(8, 6, 3, 1, 1);
    for (SparseLayer* layer : {static_cast<SparseLayer*>(lin.get()), static_cast<SparseLayer*>(conv.get())}) {
        layer->straightThrough = true;
        layer->setMask(nm::nmMask(layer->weight.detach(), {2, 4}));
    }
    auto x = torch::randn({5, 24});
    auto img = torch::randn({2, 8, 7, 7});
    auto check = [](SparseLayer& layer, const std::function<torch::Tensor()>& run,
                    const std::function<torch::Tensor(const torch::Tensor&)>& runWith) {
        layer.weight.mutable_grad() = torch::Tensor();
        auto y = run();
        (y * y).sum().backward();
        auto gradNew = layer.weight.grad().clone();
        layer.weight.mutable_grad() = torch::Tensor();
        auto old = layer.weight + (layer.weight * layer.maskFactor() - layer.weight).detach();
        auto yOld = runWith(old);
        (yOld * yOld).sum().backward();
        QVERIFY(torch::equal(y, yOld));
        QVERIFY(torch::equal(gradNew, layer.weight.grad()));
        QVERIFY(gradNew.masked_select(~layer.mask).abs().sum().item<double>() > 0);
        // Without autograd the masked value is still W * M.
        torch::NoGradGuard noGrad;
        QVERIFY(torch::equal(layer.forwardWeight(), layer.weight * layer.maskFactor()));
    };
    check(*lin, [&] { return lin->forward(x); }, [&](const torch::Tensor& w) { return torch::linear(x, w, lin->bias); });
    check(*conv, [&] { return conv->forward(img); },
          [&](const torch::Tensor& w) { return torch::conv2d(img, w, conv->bias, {1, 1}, {1, 1}); });
}

void TestNmTraining::steUpdatesPrunedWeights() {
    RunConfig c = nmRun("nm_ste", "2:4");
    c.weight_decay = 0.0; // only the gradient can move a weight
    c.momentum = 0.0;
    Trainer t(c);
    std::vector<torch::Tensor> w0, m0;
    for (auto& st : t.internals().layers) {
        w0.push_back(st.layer->weight.detach().clone());
        m0.push_back(st.layer->mask.clone());
    }
    QVERIFY(t.trainStep());
    auto& layers = t.internals().layers;
    for (size_t i = 0; i < layers.size(); ++i) {
        // Inputs that are zero in the whole batch (image borders) give no gradient to anyone, so
        // compare with the kept weights: pruned ones must move about as often.
        auto changed = layers[i].layer->weight.detach() != w0[i];
        auto fraction = [&](const torch::Tensor& where) {
            return (changed & where).sum().item<double>() / where.sum().item<double>();
        };
        const double pruned = fraction(~m0[i]), kept = fraction(m0[i]);
        QVERIFY2(kept > 0 && pruned > 0.5 * kept,
                 qPrintable(QString("%1: %2 of pruned and %3 of kept weights moved")
                                .arg(QString::fromStdString(layers[i].name)).arg(pruned).arg(kept)));
    }
}

void TestNmTraining::lossDecreases() {
    for (const char* method : {"nm_ste", "srste", "nm_transposable"}) {
        RunConfig c = nmRun(method, method == std::string("nm_transposable") ? "4:8" : "2:4");
        c.epochs = 3;
        Trainer t(c);
        std::vector<double> losses;
        while (t.trainStep()) losses.push_back(t.lastLoss());
        QCOMPARE(losses.size(), size_t{48});
        double first = 0, last = 0;
        for (int i = 0; i < 8; ++i) {
            first += losses[static_cast<size_t>(i)];
            last += losses[losses.size() - 1 - static_cast<size_t>(i)];
        }
        QVERIFY2(last < 0.7 * first, qPrintable(QString("%1: loss %2 -> %3").arg(method).arg(first / 8).arg(last / 8)));
    }
}

void TestNmTraining::transposableMaskChangesOnlyOnSchedule() {
    RunConfig c = nmRun("nm_transposable", "2:4");
    c.lr = 0.1;
    MaskEvents events;
    Trainer t(c, &events);
    auto snapshot = [&] {
        std::vector<torch::Tensor> m;
        for (auto& st : t.internals().layers) m.push_back(st.layer->mask.clone());
        return m;
    };
    auto before = snapshot();
    int changes = 0;
    while (t.trainStep()) {
        auto after = snapshot();
        bool changed = false;
        for (size_t i = 0; i < after.size(); ++i) changed = changed || !torch::equal(before[i], after[i]);
        if (changed) {
            ++changes;
            QVERIFY2(t.step() % c.nm_update_every == 0, qPrintable(QString("mask changed at step %1").arg(t.step())));
        }
        before = after;
    }
    QVERIFY(changes > 0);
    QCOMPARE(events.events.size(), size_t{4}); // steps 4, 8, 12, 16
    for (size_t i = 0; i < events.events.size(); ++i) {
        QCOMPARE(events.events[i].step, static_cast<int64_t>(4 * (i + 1)));
        for (const auto& l : events.events[i].layers) {
            QCOMPARE(l.nmValid, 1);
            QCOMPARE(l.sad, l.pruned + l.regrown);
        }
    }
}

void TestNmTraining::badNmValuesRejected() {
    for (const char* bad : {"3:2", "0:4", "x", "2:2"}) {
        RunConfig c = nmRun("srste", "2:4");
        applyOverride(c, std::string("nm=") + bad);
        try {
            validateConfig(c);
            QFAIL(qPrintable(QString("nm=%1 was accepted").arg(bad)));
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.key()), QString("nm"));
        }
        try {
            Trainer t(c);
            QFAIL("the trainer accepted a bad nm");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.key()), QString("nm"));
        }
    }
    RunConfig c = nmRun("nm_transposable", "2:4");
    c.nm_solver = "ilp";
    try {
        validateConfig(c);
        QFAIL("nm_solver=ilp was accepted");
    } catch (const ConfigError& e) {
        QCOMPARE(QString::fromStdString(e.key()), QString("nm_solver"));
    }
    c = nmRun("srste", "2:4");
    c.nm_update_every = 0;
    QVERIFY_EXCEPTION_THROWN(validateConfig(c), ConfigError);
    c = nmRun("srste", "2:4");
    c.srste_decay = -1;
    QVERIFY_EXCEPTION_THROWN(validateConfig(c), ConfigError);
}

void TestNmTraining::srsteResumeExact() { checkResume("srste", "2:4", 7); }

void TestNmTraining::transposableResumeExact() { checkResume("nm_transposable", "4:8", 6); }

QTEST_GUILESS_MAIN(TestNmTraining)
#include "test_nm_training.moc"
