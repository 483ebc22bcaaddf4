// Our SGD / AdamW against LibTorch's, state masking, the "masked positions stay zero" invariant,
// save/load, and the same invariant end to end through the trainer.
#include <torch/torch.h>

#include <QtTest>

#include "engine/training/optimizer.hpp"
#include "engine/training/trainer.hpp"
#include "engine/training/trainer_internals.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <string>
#include <vector>

using namespace srigl;

namespace {

torch::Generator gen(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

const std::vector<std::vector<int64_t>> kShapes = {{7, 5}, {13}, {4, 3, 3, 3}};
const std::vector<double> kLrs = {0.1, 0.05, 0.02, 0.1, 0.03, 0.07};

std::vector<torch::Tensor> randomParams(uint64_t seed, torch::Dtype dtype) {
    auto g = gen(seed);
    std::vector<torch::Tensor> out;
    for (const auto& s : kShapes) out.push_back(torch::randn(s, g, dtype).requires_grad_(true));
    return out;
}

// grads[step][param]
std::vector<std::vector<torch::Tensor>> randomGrads(uint64_t seed, size_t steps, torch::Dtype dtype) {
    auto g = gen(seed);
    std::vector<std::vector<torch::Tensor>> out(steps);
    for (size_t s = 0; s < steps; ++s)
        for (const auto& shape : kShapes) out[s].push_back(torch::randn(shape, g, dtype));
    return out;
}

std::vector<torch::Tensor> cloneParams(const std::vector<torch::Tensor>& ps) {
    std::vector<torch::Tensor> out;
    for (const auto& p : ps) out.push_back(p.detach().clone().requires_grad_(true));
    return out;
}

void setGrads(std::vector<torch::Tensor>& ps, const std::vector<torch::Tensor>& grads) {
    for (size_t i = 0; i < ps.size(); ++i) ps[i].mutable_grad() = grads[i].clone();
}

// max |a - b| / max(|b|, floor): relative difference that does not explode at exact zeros.
double maxRelDiff(const torch::Tensor& a, const torch::Tensor& b, double floor = 1e-3) {
    auto diff = (a.detach() - b.detach()).abs().to(torch::kDouble);
    auto scale = b.detach().abs().to(torch::kDouble).clamp_min(floor);
    return (diff / scale).max().item<double>();
}

OptimizerSettings sgdSettings(bool nesterov) {
    OptimizerSettings s;
    s.kind = "sgd";
    s.momentum = 0.9;
    s.nesterov = nesterov;
    s.weightDecay = 5e-4;
    return s;
}

OptimizerSettings adamwSettings() {
    OptimizerSettings s;
    s.kind = "adamw";
    s.beta1 = 0.8;  // not the defaults, so a setting that is ignored shows up
    s.beta2 = 0.95;
    s.eps = 1e-3;   // large enough that eps inside vs outside the sqrt would differ by > 1e-6
    s.weightDecay = 0.01;
    return s;
}

// Runs our optimizer and LibTorch's side by side with identical gradients and per-step lrs.
void compareWithTorch(const OptimizerSettings& settings, torch::Dtype dtype, double tolerance) {
    const size_t steps = 5;
    auto ours = randomParams(11, dtype);
    auto theirs = cloneParams(ours);
    const auto grads = randomGrads(12, steps, dtype);

    Optimizer mine(ours, settings);
    std::unique_ptr<torch::optim::Optimizer> ref;
    if (settings.kind == "sgd") {
        ref = std::make_unique<torch::optim::SGD>(
            theirs, torch::optim::SGDOptions(kLrs[0]).momentum(settings.momentum).nesterov(settings.nesterov).weight_decay(settings.weightDecay));
    } else {
        ref = std::make_unique<torch::optim::AdamW>(
            theirs, torch::optim::AdamWOptions(kLrs[0]).betas(std::make_tuple(settings.beta1, settings.beta2)).eps(settings.eps).weight_decay(settings.weightDecay));
    }
    for (size_t s = 0; s < steps; ++s) {
        setGrads(ours, grads[s]);
        setGrads(theirs, grads[s]);
        for (auto& group : ref->param_groups()) group.options().set_lr(kLrs[s]);
        mine.step(kLrs[s]);
        ref->step();
        for (size_t i = 0; i < ours.size(); ++i) {
            // In float32 values near zero carry rounding of the O(lr) update: relative to max(|x|, 1) there.
            const double d = maxRelDiff(ours[i], theirs[i], dtype == torch::kDouble ? 1e-3 : 1.0);
            QVERIFY2(d <= tolerance, qPrintable(QString("%1 step %2 param %3: relative difference %4")
                                                    .arg(QString::fromStdString(settings.kind)).arg(s + 1).arg(i).arg(d)));
        }
    }
    QCOMPARE(mine.stepCount(), int64_t(steps));
    // The parameters really moved (the comparison is not between two untouched copies).
    auto start = randomParams(11, dtype);
    for (size_t i = 0; i < ours.size(); ++i) QVERIFY(maxRelDiff(ours[i], start[i]) > 1e-3);
}

std::vector<torch::Tensor> randomMasks(uint64_t seed, double density) {
    auto g = gen(seed);
    std::vector<torch::Tensor> out;
    for (const auto& s : kShapes) out.push_back(torch::rand(s, g, torch::kFloat) < density);
    return out;
}

} // namespace

class TestOptimizer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sgdNesterovMatchesTorch();
    void sgdMomentumMatchesTorch();
    void adamwMatchesTorch();
    void matchesTorchInFloat();
    void unknownKindThrows();
    void stateShapes();
    void maskStateSgd();
    void maskStateAdamw();
    void maskedZerosStayZero();
    void saveLoadRoundTrip();
    void trainerKeepsMaskedStateZeroSgd();
    void trainerKeepsMaskedStateZeroAdamw();
};

void TestOptimizer::sgdNesterovMatchesTorch() { compareWithTorch(sgdSettings(true), torch::kDouble, 1e-6); }

void TestOptimizer::sgdMomentumMatchesTorch() { compareWithTorch(sgdSettings(false), torch::kDouble, 1e-6); }

void TestOptimizer::adamwMatchesTorch() {
    compareWithTorch(adamwSettings(), torch::kDouble, 1e-6);
    OptimizerSettings defaults;
    defaults.kind = "adamw";
    defaults.weightDecay = 0.01;
    compareWithTorch(defaults, torch::kDouble, 1e-6);
}

void TestOptimizer::matchesTorchInFloat() {
    // The trainer runs float32: only rounding may differ.
    compareWithTorch(sgdSettings(true), torch::kFloat, 1e-5);
    compareWithTorch(adamwSettings(), torch::kFloat, 1e-5);
}

void TestOptimizer::unknownKindThrows() {
    OptimizerSettings s;
    s.kind = "adagrad";
    bool thrown = false;
    try {
        Optimizer o(randomParams(1, torch::kFloat), s);
    } catch (const std::exception&) {
        thrown = true;
    }
    QVERIFY(thrown);
}

void TestOptimizer::stateShapes() {
    auto ps = randomParams(3, torch::kFloat);
    Optimizer sgd(ps, sgdSettings(true));
    Optimizer adam(cloneParams(ps), adamwSettings());
    for (size_t i = 0; i < ps.size(); ++i) {
        QCOMPARE(sgd.state(i).size(), size_t{1});
        QCOMPARE(adam.state(i).size(), size_t{2});
        for (const auto& t : sgd.state(i)) QVERIFY(t.sizes() == ps[i].sizes());
        for (const auto& t : adam.state(i)) QVERIFY(t.sizes() == ps[i].sizes());
        // Fresh state is zero.
        for (const auto& t : adam.state(i)) QCOMPARE(t.abs().sum().item<double>(), 0.0);
    }
}

void TestOptimizer::maskStateSgd() {
    auto ps = randomParams(5, torch::kFloat);
    Optimizer opt(ps, sgdSettings(true));
    const auto grads = randomGrads(6, 3, torch::kFloat);
    for (const auto& g : grads) {
        setGrads(ps, g);
        opt.step(0.05);
    }
    const auto masks = randomMasks(7, 0.4);
    std::vector<torch::Tensor> before;
    for (size_t i = 0; i < ps.size(); ++i) before.push_back(opt.state(i)[0].clone());
    for (size_t i = 0; i < ps.size(); ++i) QVERIFY((before[i] != 0).all().item<bool>()); // dense state to start with

    opt.maskState(0, masks[0].to(torch::kFloat));
    opt.maskState(2, masks[2].to(torch::kFloat));
    for (size_t i : {size_t{0}, size_t{2}}) {
        auto buf = opt.state(i)[0];
        QVERIFY2((buf.masked_select(masks[i].logical_not()) == 0).all().item<bool>(), "momentum left where mask is 0");
        QVERIFY2(torch::equal(buf.masked_select(masks[i]), before[i].masked_select(masks[i])), "momentum changed where mask is 1");
    }
    QVERIFY2(torch::equal(opt.state(1)[0], before[1]), "maskState touched another parameter");
}

void TestOptimizer::maskStateAdamw() {
    auto ps = randomParams(5, torch::kFloat);
    Optimizer opt(ps, adamwSettings());
    const auto grads = randomGrads(6, 3, torch::kFloat);
    for (const auto& g : grads) {
        setGrads(ps, g);
        opt.step(0.01);
    }
    const auto masks = randomMasks(8, 0.3);
    std::vector<std::vector<torch::Tensor>> before(ps.size());
    for (size_t i = 0; i < ps.size(); ++i)
        for (const auto& t : opt.state(i)) {
            before[i].push_back(t.clone());
            QVERIFY((t != 0).all().item<bool>());
        }
    opt.maskState(1, masks[1].to(torch::kFloat));
    const auto st = opt.state(1);
    QCOMPARE(st.size(), size_t{2});
    for (size_t j = 0; j < 2; ++j) {
        QVERIFY2((st[j].masked_select(masks[1].logical_not()) == 0).all().item<bool>(),
                 j == 0 ? "exp_avg left where mask is 0" : "exp_avg_sq left where mask is 0");
        QVERIFY2(torch::equal(st[j].masked_select(masks[1]), before[1][j].masked_select(masks[1])), "state changed where mask is 1");
    }
    for (size_t i : {size_t{0}, size_t{2}})
        for (size_t j = 0; j < 2; ++j) QVERIFY2(torch::equal(opt.state(i)[j], before[i][j]), "maskState touched another parameter");
}

void TestOptimizer::maskedZerosStayZero() {
    for (const auto& settings : {sgdSettings(true), sgdSettings(false), adamwSettings()}) {
        const QString kind = QString::fromStdString(settings.kind) + (settings.kind == "sgd" && settings.nesterov ? " nesterov" : "");
        auto ps = randomParams(21, torch::kFloat);
        Optimizer opt(ps, settings);
        // Dense warm-up steps: state becomes non-zero everywhere.
        const auto warm = randomGrads(22, 3, torch::kFloat);
        for (const auto& g : warm) {
            setGrads(ps, g);
            opt.step(0.05);
        }
        // Now a mask arrives: W *= M, state masked once; from then on gradients are masked every step.
        const auto masks = randomMasks(23, 0.25);
        std::vector<torch::Tensor> factors;
        {
            torch::NoGradGuard ng;
            for (size_t i = 0; i < ps.size(); ++i) {
                factors.push_back(masks[i].to(torch::kFloat));
                ps[i].mul_(factors[i]);
                opt.maskState(i, factors[i]);
            }
        }
        const auto grads = randomGrads(24, 8, torch::kFloat);
        for (size_t s = 0; s < grads.size(); ++s) {
            for (size_t i = 0; i < ps.size(); ++i) ps[i].mutable_grad() = grads[s][i] * factors[i];
            opt.step(kLrs[s % kLrs.size()]);
            for (size_t i = 0; i < ps.size(); ++i) {
                auto off = masks[i].logical_not();
                QVERIFY2((ps[i].detach().masked_select(off) == 0).all().item<bool>(),
                         qPrintable(kind + QString(": masked weight moved at step %1, param %2").arg(s + 1).arg(i)));
                for (const auto& t : opt.state(i))
                    QVERIFY2((t.masked_select(off) == 0).all().item<bool>(),
                             qPrintable(kind + QString(": state non-zero at a masked position, step %1").arg(s + 1)));
                // The unmasked weights keep training.
                QVERIFY((ps[i].detach().masked_select(masks[i]) != 0).any().item<bool>());
            }
        }
    }
    // Control: without masking the state, the old momentum moves masked (zeroed) weights again,
    // so the test above would notice a maskState that does nothing.
    auto ps = randomParams(21, torch::kFloat);
    Optimizer opt(ps, sgdSettings(true));
    for (const auto& g : randomGrads(22, 3, torch::kFloat)) {
        setGrads(ps, g);
        opt.step(0.05);
    }
    const auto masks = randomMasks(23, 0.25);
    {
        torch::NoGradGuard ng;
        ps[0].mul_(masks[0].to(torch::kFloat));
    }
    ps[0].mutable_grad() = torch::zeros_like(ps[0]);
    opt.step(0.05);
    QVERIFY((ps[0].detach().masked_select(masks[0].logical_not()) != 0).any().item<bool>());
}

void TestOptimizer::saveLoadRoundTrip() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    for (const auto& settings : {sgdSettings(true), adamwSettings()}) {
        const std::string path = (dir.path() + "/opt_" + QString::fromStdString(settings.kind) + ".pt").toStdString();
        auto psA = randomParams(31, torch::kFloat);
        Optimizer a(psA, settings);
        const auto grads = randomGrads(32, 5, torch::kFloat);
        for (size_t s = 0; s < 3; ++s) {
            setGrads(psA, grads[s]);
            a.step(kLrs[s]);
        }
        {
            torch::serialize::OutputArchive out;
            a.save(out);
            out.save_to(path);
        }
        // A fresh optimizer over parameters with the same values, then load.
        auto psB = cloneParams(psA);
        Optimizer b(psB, settings);
        {
            torch::serialize::InputArchive in;
            in.load_from(path);
            b.load(in);
        }
        QCOMPARE(b.stepCount(), a.stepCount());
        for (size_t i = 0; i < psA.size(); ++i) {
            const auto sa = a.state(i), sb = b.state(i);
            QCOMPARE(sb.size(), sa.size());
            for (size_t j = 0; j < sa.size(); ++j) QVERIFY2(torch::equal(sa[j], sb[j]), "state differs after load");
        }
        // The next steps give identical parameters (bias correction included: step count restored).
        for (size_t s = 3; s < 5; ++s) {
            setGrads(psA, grads[s]);
            setGrads(psB, grads[s]);
            a.step(kLrs[s]);
            b.step(kLrs[s]);
            for (size_t i = 0; i < psA.size(); ++i)
                QVERIFY2(torch::equal(psA[i].detach(), psB[i].detach()),
                         qPrintable(QString::fromStdString(settings.kind) + QString(": step %1 param %2 differs").arg(s + 1).arg(i)));
        }
        // Control: a fresh optimizer (no load) would have diverged.
        auto psC = cloneParams(psA);
        Optimizer c(psC, settings);
        setGrads(psC, grads[0]);
        setGrads(psA, grads[0]);
        c.step(0.05);
        a.step(0.05);
        QVERIFY(!torch::equal(psA[0].detach(), psC[0].detach()));
    }
}

namespace {

void trainerInvariant(const std::string& optimizer) {
    RunConfig c;
    c.sparse_compute = "masked_dense"; // the masked state is what this checks (condensed: test_condensed_trainer)
    c.dataset = "synthetic";
    c.synthetic_train = 512;
    c.synthetic_test = 128;
    c.model = "mlp";
    c.hidden = "64,32";
    c.batch_size = 64;
    c.method = "srigl";
    c.sparsity = 0.9;
    c.delta_t = 4;
    c.max_steps = 20;
    c.threads = 1;
    c.optimizer = optimizer;
    if (optimizer == "adamw") {
        c.lr = 1e-3;
        c.weight_decay = 0.01;
    }
    Trainer trainer(c);
    auto& s = trainer.internals();
    QCOMPARE(trainer.totalSteps(), int64_t{20});
    QCOMPARE(s.layers.size(), size_t{3});

    std::vector<torch::Tensor> initialMasks;
    int sparseLayers = 0;
    for (auto& st : s.layers) {
        initialMasks.push_back(st.layer->mask.clone());
        if (st.density < 1.0) ++sparseLayers;
        // The paramIndex really points at the layer's weight.
        QVERIFY(s.optimizer->params()[st.paramIndex].unsafeGetTensorImpl() == st.layer->weight.unsafeGetTensorImpl());
    }
    QVERIFY2(sparseLayers >= 2, "fixture should have sparse layers");

    for (int step = 1; step <= 20; ++step) {
        QVERIFY2(trainer.trainStep(), qPrintable(QString("trainStep %1 returned false").arg(step)));
        for (auto& st : s.layers) {
            if (st.density >= 1.0) continue;
            auto off = st.layer->mask.logical_not();
            auto w = st.layer->weight.detach();
            QVERIFY2((w.masked_select(off) == 0).all().item<bool>(),
                     qPrintable(QString("%1 step %2 %3: weight non-zero where mask is false")
                                    .arg(QString::fromStdString(optimizer)).arg(step).arg(QString::fromStdString(st.name))));
            const auto state = s.optimizer->state(st.paramIndex);
            QCOMPARE(state.size(), size_t{optimizer == "adamw" ? 2u : 1u});
            for (size_t j = 0; j < state.size(); ++j) {
                QVERIFY(state[j].sizes() == st.layer->mask.sizes());
                QVERIFY2((state[j].masked_select(off) == 0).all().item<bool>(),
                         qPrintable(QString("%1 step %2 %3: optimizer state %4 non-zero where mask is false")
                                        .arg(QString::fromStdString(optimizer)).arg(step)
                                        .arg(QString::fromStdString(st.name)).arg(j)));
                // Not vacuous: the state lives on the active connections.
                QVERIFY((state[j].masked_select(st.layer->mask) != 0).any().item<bool>());
            }
        }
    }
    QCOMPARE(trainer.step(), int64_t{20});
    QVERIFY(!trainer.trainStep()); // training is over
    QCOMPARE(s.updates, int64_t{3}); // updates at 4, 8, 12 (T_end = 15)
    // The masks really changed, so the check above covered dropped and grown connections.
    bool changed = false;
    for (size_t i = 0; i < s.layers.size(); ++i)
        if (!torch::equal(s.layers[i].layer->mask, initialMasks[i])) changed = true;
    QVERIFY2(changed, "no mask changed in 3 updates");
}

} // namespace

void TestOptimizer::trainerKeepsMaskedStateZeroSgd() { trainerInvariant("sgd"); }

void TestOptimizer::trainerKeepsMaskedStateZeroAdamw() { trainerInvariant("adamw"); }

QTEST_GUILESS_MAIN(TestOptimizer)
#include "test_optimizer.moc"
