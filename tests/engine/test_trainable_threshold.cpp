// Trainable thresholds (Liu et al., ICLR 2020): the step estimator's gradients to W and t against
// the paper's formula, thresholds and masks moving together in training, the 1% guard (training
// only), the density controller, mask events every tt_record_every steps with the right fan-in
// statistics, exact resume, a clean stop on a non-finite objective, and config errors naming keys.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/kernels/condensed_kernels.hpp"
#include "engine/sparsity/threshold_density_controller.hpp"
#include "engine/sparsity/trainable_threshold.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "engine/training/trainer_internals.hpp"
#include "tests/support/tiny_configs.hpp"

#include <cmath>
#include <functional>

using namespace srigl;

class TestTrainableThreshold : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void estimatorDerivativeAtChosenPoints();
    void estimatorBackwardMatchesTheFormula();
    void fusedFloatPathMatchesTheComposite();
    void thresholdsMoveAndTheMaskFollows();
    void guardResetsInTrainingNotInEvaluation();
    void densityControllerConverges();
    void recordEveryReportsMaskEvents();
    void resumeKeepsThresholdsExactly();
    void nonFiniteObjectiveStopsCleanly();
    void badInputNamesTheKey();
};

namespace {

RunConfig tiny() {
    RunConfig c = tinyRunConfig("32,16", 32, 2); // 8 steps per epoch
    c.method = "trainable_threshold";
    c.lr = 0.05;
    c.momentum = 0.9;
    c.nesterov = false;
    c.weight_decay = 0.0;
    c.tt_alpha = 5e-3;
    return c;
}

std::string configErrorKey(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        // The message names the key too, not only the exception's field.
        if (what.find(e.key()) == std::string::npos) return "<message without key: " + what + ">";
        return e.key();
    }
    return "<no ConfigError>";
}

struct EventLog : TrainingObserver {
    Trainer* trainer = nullptr;
    std::vector<MaskUpdateEvent> events;
    std::vector<std::vector<LayerMaskSnapshot>> masks;
    std::vector<std::vector<torch::Tensor>> thresholds; // each layer's, when the event came
    void onMaskUpdate(const MaskUpdateEvent& e) override {
        events.push_back(e);
        masks.push_back(trainer->maskSnapshot());
        thresholds.emplace_back();
        for (auto& st : trainer->internals().layers) thresholds.back().push_back(st.layer->threshold.detach().clone());
    }
};

bool bit(const LayerMaskSnapshot& m, int64_t i) { return (m.bits[size_t(i / 8)] >> (i % 8)) & 1; }

} // namespace

void TestTrainableThreshold::estimatorDerivativeAtChosenPoints() {
    const auto x = torch::tensor({0.0, 0.1, -0.25, 0.4, -0.41, 0.7, 1.0, -1.0, 1.01, -3.0}, torch::kDouble);
    const auto expected = torch::tensor({2.0, 1.6, 1.0, 0.4, 0.4, 0.4, 0.4, 0.4, 0.0, 0.0}, torch::kDouble);
    QVERIFY(torch::allclose(stepEstimatorDerivative(x), expected, 0.0, 1e-12));
    // Forward: a plain 0/1 step (0 at 0 itself: the reference keeps only |W| > t).
    QVERIFY(torch::equal(binaryStep(x), (x > 0).to(torch::kDouble)));
}

void TestTrainableThreshold::estimatorBackwardMatchesTheFormula() {
    // Two rows (neurons) with one threshold each; x = |W| - t lands in every region of the
    // estimator, on both sides of zero, with weights of both signs.
    auto w = torch::tensor({{0.5, -0.3, 1.4, -0.95, 0.05, 2.5}, {-0.2, 0.75, -1.9, 0.0, 0.45, -0.6}}, torch::kDouble)
                 .requires_grad_(true);
    auto t = torch::tensor({0.4, 0.3}, torch::kDouble).requires_grad_(true);
    const auto g =
        torch::tensor({{1.0, -2.0, 0.5, 3.0, -1.5, 0.25}, {2.0, -0.5, 1.5, -1.0, 0.75, -3.0}}, torch::kDouble);
    auto y = thresholdMaskedWeight(w, t);
    (y * g).sum().backward();

    // The formula, written out entry by entry.
    auto W = w.detach();
    auto T = t.detach();
    auto expectedW = torch::zeros_like(W);
    auto expectedT = torch::zeros_like(T);
    for (int64_t r = 0; r < 2; ++r) {
        for (int64_t j = 0; j < 6; ++j) {
            const double wv = W[r][j].item<double>(), tv = T[r].item<double>(), gv = g[r][j].item<double>();
            const double x = std::fabs(wv) - tv;
            const double ax = std::fabs(x);
            const double d = ax <= 0.4 ? 2.0 - 4.0 * ax : (ax <= 1.0 ? 0.4 : 0.0);
            const double m = x > 0 ? 1.0 : 0.0;
            const double sign = wv > 0 ? 1.0 : (wv < 0 ? -1.0 : 0.0);
            // y = w * m(x): dy/dw = m + w * m'(x) * sign(w); dy/dt = w * m'(x) * (-1).
            expectedW[r][j] = gv * (m + wv * d * sign);
            expectedT[r] = expectedT[r].item<double>() - gv * wv * d;
            QCOMPARE(y[r][j].item<double>(), wv * m);
        }
    }
    QVERIFY2(torch::allclose(w.grad(), expectedW, 0.0, 1e-12), "dL/dW differs from the formula");
    QVERIFY2(torch::allclose(t.grad(), expectedT, 0.0, 1e-12), "dL/dt differs from the formula");
    // Not vacuous: pruned entries within |x| <= 1 get a gradient, entries beyond get none from the mask.
    QVERIFY(w.grad()[0][1].item<double>() != 0.0);                   // |W| - t = -0.1: pruned, still learning
    QCOMPARE(w.grad()[0][5].item<double>(), g[0][5].item<double>()); // x = 2.1: only the product's part

    // A convolution's weight [out, in, kh, kw] takes its row's threshold on every entry of the filter.
    auto conv = torch::full({2, 1, 2, 2}, 0.5);
    auto mask = thresholdMask(conv, torch::tensor({0.4f, 0.6f}));
    QVERIFY(mask[0].all().item<bool>());
    QVERIFY(!mask[1].any().item<bool>());
}

// float32 on the CPU takes the fused Function; the composite runs in double here (the fused path
// never does) and is the reference: forward exact, gradients within float rounding, for a Linear and
// a Conv2d weight with zeros, entries at the threshold and every region of the estimator.
void TestTrainableThreshold::fusedFloatPathMatchesTheComposite() {
    torch::manual_seed(3);
    for (const auto& shape : {std::vector<int64_t>{7, 33}, std::vector<int64_t>{5, 3, 3, 3}}) {
        auto w0 = torch::randn(shape) * 1.5;
        w0.view(-1).index_put_({torch::arange(0, w0.numel(), 11)}, 0.0f);
        auto t0 = torch::rand({shape[0]}) * 1.2 - 0.1;
        w0.view({shape[0], -1}).select(1, 1).copy_(t0); // |W| - t == 0 exactly: pruned (step(0) = 0)
        const auto g = torch::randn(shape);

        // The fused float path on every instruction set this CPU runs: the same bits on each.
        auto fused = [&](const char* isa) {
            qputenv("SRIGL_KERNEL_ISA", isa);
            auto w = w0.clone().requires_grad_(true);
            auto t = t0.clone().requires_grad_(true);
            auto y = thresholdMaskedWeight(w, t);
            (y * g).sum().backward();
            qunsetenv("SRIGL_KERNEL_ISA");
            return std::make_tuple(y.detach(), w.grad(), t.grad());
        };
        const auto [y, wGrad, tGrad] = fused("portable");
        if (kernels::isaSupported(kernels::Isa::Avx2)) {
            const auto [yAvx2, wGradAvx2, tGradAvx2] = fused("avx2");
            QVERIFY(torch::equal(y, yAvx2));
            QVERIFY2(torch::equal(wGrad, wGradAvx2), "dL/dW differs between the portable and AVX2 rows");
            QVERIFY2(torch::equal(tGrad, tGradAvx2), "dL/dt differs between the portable and AVX2 rows");
        }

        auto wd = w0.to(torch::kDouble).requires_grad_(true);
        auto td = t0.to(torch::kDouble).requires_grad_(true);
        auto yd = thresholdMaskedWeight(wd, td);
        (yd * g.to(torch::kDouble)).sum().backward();

        QVERIFY(torch::equal(y, yd.detach().to(torch::kFloat)));
        QVERIFY2(torch::allclose(wGrad.to(torch::kDouble), wd.grad(), 1e-5, 1e-5), "dL/dW");
        QVERIFY2(torch::allclose(tGrad.to(torch::kDouble), td.grad(), 1e-4, 1e-4), "dL/dt");
        QVERIFY(tGrad.abs().sum().item<double>() > 0); // not vacuous: thresholds learn
    }
}

void TestTrainableThreshold::thresholdsMoveAndTheMaskFollows() {
    RunConfig c = tiny();
    c.tt_alpha = 0.05; // a strong pull, so that thresholds rise within a few dozen steps
    Trainer trainer(c);
    auto& s = trainer.internals();
    QCOMPARE(s.layers.size(), size_t(3));
    for (auto& st : s.layers) {
        QVERIFY(st.tt);
        QVERIFY(torch::equal(st.layer->threshold, torch::zeros({st.layer->outFeatures()})));
        QVERIFY(st.layer->mask.all().item<bool>()); // thresholds 0: every weight kept at first
    }
    while (trainer.trainStep()) {
    }
    QVERIFY(trainer.lastStatus() == TrainingStatus::Finished);
    const auto stats = trainer.layerStats();
    for (size_t i = 0; i < s.layers.size(); ++i) {
        auto& st = s.layers[i];
        const auto threshold = st.layer->threshold.detach();
        QVERIFY2(threshold.mean().item<double>() > 0.0, st.name.c_str());
        QVERIFY2(threshold.max().item<double>() > threshold.min().item<double>(), "every neuron learns its own");
        // The mask is step(|W| - t) of the current weights and thresholds, and the weights stay dense.
        const auto expected = st.layer->weight.detach().abs() > threshold.view({-1, 1});
        QVERIFY(torch::equal(st.layer->mask, expected));
        QVERIFY((st.layer->weight.detach().masked_select(~st.layer->mask) != 0).any().item<bool>());
        // The statistics follow the mask: sparsity, and k = 0 (unstructured).
        const double sparsity = 1.0 - st.layer->mask.to(torch::kDouble).mean().item<double>();
        QVERIFY(sparsity > 0.0);
        QCOMPARE(stats[i].sparsity, sparsity);
        QCOMPARE(stats[i].k, int64_t(0));
        QCOMPARE(stats[i].compute, std::string("masked_dense"));
        // The statistics carry the layer's thresholds, exactly (what the store records).
        QCOMPARE(stats[i].thresholds.size(), size_t(st.layer->outFeatures()));
        for (int64_t r = 0; r < st.layer->outFeatures(); ++r)
            QCOMPARE(stats[i].thresholds[size_t(r)], threshold[r].item<float>());
    }
    // The forward computes with W * M: the snapshot's weights are zero outside the mask.
    const auto weights = trainer.weightSnapshots();
    const auto masks = trainer.maskSnapshot();
    for (size_t l = 0; l < weights.size(); ++l)
        for (int64_t e = 0; e < int64_t(weights[l].values.size()); ++e)
            if (!bit(masks[l], e)) QCOMPARE(weights[l].values[size_t(e)], 0.0f);
}

void TestTrainableThreshold::guardResetsInTrainingNotInEvaluation() {
    RunConfig c = tiny();
    // Two identical runs after one step: in `guarded` fc1 and fc2 collapse (the guard must reset
    // them), in `zeroed` their thresholds are set to 0 by hand. Resetting is exactly that, so the
    // two must continue identically.
    Trainer guarded(c), zeroed(c);
    QVERIFY(guarded.trainStep() && zeroed.trainStep());
    auto& s = guarded.internals();
    {
        torch::NoGradGuard noGrad;
        s.layers[0].layer->threshold.fill_(1e3); // fc1 keeps nothing
        // fc2 keeps exactly 1% (the guard fires at 1% or less): its 5 largest |W| of 16 x 32 = 512.
        auto w = s.layers[1].layer->weight.detach().abs().flatten();
        auto sorted = std::get<0>(w.sort(0, /*descending=*/true));
        s.layers[1].layer->threshold.fill_(sorted[5].item<double>());
        zeroed.internals().layers[0].layer->threshold.zero_();
        zeroed.internals().layers[1].layer->threshold.zero_();
    }
    const auto fc2Collapsed = s.layers[1].layer->threshold.detach().clone();
    QCOMPARE(thresholdMask(s.layers[1].layer->weight, s.layers[1].layer->threshold).sum().item<int64_t>(), int64_t(5));

    // Evaluation never resets (the reference does): the thresholds stay where they were put.
    guarded.evaluate();
    QCOMPARE(s.layers[0].layer->threshold.detach().min().item<double>(), 1e3);
    QVERIFY(torch::equal(s.layers[1].layer->threshold.detach(), fc2Collapsed));

    // The next training step resets both before its forward; fc3 (far above 1%) is left alone.
    QVERIFY(guarded.trainStep() && zeroed.trainStep());
    QCOMPARE(guarded.lastLoss(), zeroed.lastLoss());
    for (size_t i = 0; i < 3; ++i) {
        QVERIFY(torch::equal(s.layers[i].layer->threshold, zeroed.internals().layers[i].layer->threshold));
        QVERIFY(torch::equal(s.layers[i].layer->weight, zeroed.internals().layers[i].layer->weight));
    }
    QVERIFY(s.layers[0].layer->threshold.detach().abs().max().item<double>() < 1.0);
    QVERIFY(s.layers[1].layer->mask.to(torch::kDouble).mean().item<double>() > 0.5);

    // Just above 1% is left alone.
    auto w = s.layers[1].layer->weight.detach().abs().flatten();
    auto sorted = std::get<0>(w.sort(0, true));
    auto t = torch::full({16}, sorted[6].item<double>() * 0.5 + sorted[5].item<double>() * 0.5);
    QVERIFY(!resetCollapsedThresholds(s.layers[1].layer->weight, t)); // 6 of 512 kept: 1.17%
    QVERIFY(t.min().item<double>() > 0.0);
    t.fill_(sorted[5].item<double>());
    QVERIFY(resetCollapsedThresholds(s.layers[1].layer->weight, t)); // 5 of 512: 0.98%
    QVERIFY(torch::equal(t, torch::zeros({16})));

    // With a target density (our extension) the floor is a tenth of the target when that is lower:
    // 5 of 512 kept survives a 1% target (floor 0.1%), and 0 of 512 is still a collapse.
    QCOMPARE(thresholdResetFloor(0.0), kThresholdResetKeep);
    QCOMPARE(thresholdResetFloor(0.5), kThresholdResetKeep);
    QCOMPARE(thresholdResetFloor(0.01), 0.001);
    t.fill_(sorted[5].item<double>());
    QVERIFY(!resetCollapsedThresholds(s.layers[1].layer->weight, t, thresholdResetFloor(0.01)));
    t.fill_(1e3);
    QVERIFY(resetCollapsedThresholds(s.layers[1].layer->weight, t, thresholdResetFloor(0.01)));
    // The trainer uses the run's floor: with tt_target_density = 0.01, fc2 at 0.98% is kept.
    RunConfig targeted = c;
    targeted.tt_target_density = 0.01;
    Trainer steered(targeted);
    QVERIFY(steered.trainStep());
    auto& layer = *steered.internals().layers[1].layer;
    {
        torch::NoGradGuard noGrad;
        auto wt = std::get<0>(layer.weight.detach().abs().flatten().sort(0, true));
        layer.threshold.fill_(wt[5].item<double>());
    }
    const auto before = layer.threshold.detach().clone();
    QVERIFY(steered.trainStep());
    QVERIFY2(thresholdMask(layer.weight, layer.threshold).sum().item<int64_t>() < 64, "not reset to dense");
    QVERIFY(!torch::equal(layer.threshold.detach(), torch::zeros_like(before)));
}

void TestTrainableThreshold::densityControllerConverges() {
    // The controller alone, on a plant like the thresholds': density falls with the integral of
    // alpha, against a restoring drift. It settles on the target from far above and from below.
    for (double startDensity : {1.0, 0.02}) {
        ThresholdDensityController controller(1e-3, 0.2);
        double level = -std::log(startDensity), d = startDensity;
        for (int i = 0; i < 4000; ++i) {
            level += controller.alpha() * 20.0 - 0.004 * (1.0 - d);
            d = std::exp(-std::max(level, 0.0));
            controller.update(d);
        }
        QVERIFY2(std::fabs(d - 0.2) < 0.005, qPrintable(QString("from %1: density %2").arg(startDensity).arg(d)));
    }

    // In training, on a small problem: 64-32-10 on synthetic digits, 480 steps at the paper's lr,
    // target 0.12 (alpha fixed at its start value sinks through it only late in the run).
    RunConfig c = tiny();
    c.synthetic_train = 1024;
    c.hidden = "64,32";
    c.batch_size = 64;
    c.lr = 0.01;
    c.epochs = 30; // 480 steps
    c.tt_alpha = 0.01;
    const double target = 0.12;
    c.eval_every = 100000;
    auto run = [](const RunConfig& config, double* finalAlpha) {
        Trainer trainer(config);
        auto& s = trainer.internals();
        std::vector<double> density;
        while (trainer.trainStep()) density.push_back(s.globalDensity());
        if (finalAlpha) *finalAlpha = s.ttController.alpha();
        return density;
    };
    RunConfig controlled = c;
    controlled.tt_target_density = target;
    double alpha = 0.0;
    const auto steered = run(controlled, &alpha);
    RunConfig fixedAlpha = c;
    fixedAlpha.max_steps = 360; // the steered run's last quarter starts here
    const auto fixed = run(fixedAlpha, nullptr);
    QCOMPARE(steered.size(), size_t(480));
    // The last quarter stays within 0.03 of the target (measured: about 0.12 at step 360, 0.11
    // at 480). Not 0.01: on this problem the density keeps sinking slowly under the target even as
    // alpha falls, and nothing but the task pulls a threshold down (docs/algorithms.md).
    for (size_t i = steered.size() * 3 / 4; i < steered.size(); ++i)
        QVERIFY2(std::fabs(steered[i] - target) <= 0.03,
                 qPrintable(QString("step %1: density %2").arg(i + 1).arg(steered[i])));
    // The controller did the work: the same run with alpha fixed is still far above the target
    // where the steered run's last quarter starts (measured: 0.25 at step 320, 0.22 at 400); the
    // steered one got there early by raising alpha (density 0.137 at step 80, against 0.43) and
    // has lowered it since.
    QVERIFY(alpha > 0.0 && alpha != c.tt_alpha);
    QVERIFY2(fixed.back() > target + 0.05,
             qPrintable(QString("fixed alpha: density %1 at step 360").arg(fixed.back())));
}

void TestTrainableThreshold::recordEveryReportsMaskEvents() {
    RunConfig c = tiny();
    c.tt_alpha = 0.05;
    c.tt_record_every = 3;
    c.max_steps = 10;
    EventLog log;
    Trainer trainer(c, &log);
    log.trainer = &trainer;
    const auto initial = trainer.maskSnapshot();
    const auto initialStats = trainer.layerStats(); // what onStart reports
    while (trainer.trainStep()) {
    }
    QCOMPARE(log.events.size(), size_t(3));
    for (size_t e = 0; e < log.events.size(); ++e) {
        QCOMPARE(log.events[e].step, int64_t(3 * (e + 1)));
        QCOMPARE(log.events[e].layers.size(), size_t(3));
        const auto& previous = e == 0 ? initial : log.masks[e - 1];
        for (size_t l = 0; l < 3; ++l) {
            const auto& stats = log.events[e].layers[l];
            const auto& now = log.masks[e][l];
            QCOMPARE(stats.name, now.name);
            // pruned / regrown / SAD: the mask's changes since the previous event.
            int64_t pruned = 0, regrown = 0, kept = 0;
            std::vector<int64_t> rowFanIn(size_t(now.outFeatures), 0);
            for (int64_t i = 0; i < now.outFeatures * now.fanIn; ++i) {
                pruned += bit(previous[l], i) && !bit(now, i);
                regrown += !bit(previous[l], i) && bit(now, i);
                kept += bit(now, i);
                rowFanIn[size_t(i / now.fanIn)] += bit(now, i);
            }
            QCOMPARE(stats.pruned, pruned);
            QCOMPARE(stats.regrown, regrown);
            QCOMPARE(stats.sad, pruned + regrown);
            // Fan-in varies per neuron: k = 0, and the range over active neurons.
            int64_t lo = INT64_MAX, hi = 0, active = 0;
            for (auto f : rowFanIn)
                if (f > 0) {
                    lo = std::min(lo, f);
                    hi = std::max(hi, f);
                    ++active;
                }
            QCOMPARE(stats.k, int64_t(0));
            QCOMPARE(stats.active, active);
            QCOMPARE(stats.fanInMin, lo);
            QCOMPARE(stats.fanInMax, hi);
            QCOMPARE(stats.sparsity, 1.0 - double(kept) / double(now.outFeatures * now.fanIn));
            // The thresholds of that step, one per neuron.
            const auto& t = log.thresholds[e][l];
            QCOMPARE(stats.thresholds.size(), size_t(now.outFeatures));
            for (int64_t r = 0; r < now.outFeatures; ++r) QCOMPARE(stats.thresholds[size_t(r)], t[r].item<float>());
        }
    }
    // At the start every threshold is 0, and the start statistics say so.
    QCOMPARE(initialStats.size(), size_t(3));
    for (const auto& l : initialStats) {
        QCOMPARE(l.thresholds.size(), size_t(l.outFeatures));
        for (float t : l.thresholds) QCOMPARE(t, 0.0f);
    }
    QVERIFY(log.thresholds.back()[0].abs().max().item<float>() > 0.0f); // they moved: not vacuous
    // Not vacuous: with this alpha the masks changed between events, and fan-in is not constant.
    int64_t sad = 0;
    bool varied = false;
    for (const auto& e : log.events)
        for (const auto& l : e.layers) {
            sad += l.sad;
            varied = varied || l.fanInMin != l.fanInMax;
        }
    QVERIFY(sad > 0);
    QVERIFY(varied);
}

void TestTrainableThreshold::resumeKeepsThresholdsExactly() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("run.ckpt").toStdString();
    RunConfig c = tiny();
    c.epochs = 3;              // 24 steps
    c.tt_target_density = 0.5; // the controller's state must survive too
    c.tt_record_every = 4;
    const int64_t stopAt = 10;

    auto finish = [](Trainer& t) {
        std::vector<double> losses;
        while (t.trainStep()) losses.push_back(t.lastLoss());
        return losses;
    };
    Trainer full(c);
    for (int64_t i = 0; i < stopAt; ++i) QVERIFY(full.trainStep());
    const auto reference = finish(full);

    Trainer first(c);
    for (int64_t i = 0; i < stopAt; ++i) QVERIFY(first.trainStep());
    const double alphaAtStop = first.internals().ttController.alpha();
    QVERIFY(alphaAtStop != c.tt_alpha);
    first.saveCheckpoint(ckpt);

    Trainer resumed(c);
    resumed.loadCheckpoint(ckpt);
    QCOMPARE(resumed.step(), stopAt);
    QCOMPARE(resumed.internals().ttController.alpha(), alphaAtStop);
    for (size_t i = 0; i < 3; ++i)
        QVERIFY(
            torch::equal(resumed.internals().layers[i].layer->threshold, first.internals().layers[i].layer->threshold));
    const auto continued = finish(resumed);

    QCOMPARE(continued.size(), reference.size());
    for (size_t i = 0; i < reference.size(); ++i) QCOMPARE(continued[i], reference[i]);
    auto& a = full.internals();
    auto& b = resumed.internals();
    for (size_t i = 0; i < a.layers.size(); ++i) {
        QVERIFY(torch::equal(a.layers[i].layer->threshold, b.layers[i].layer->threshold));
        QVERIFY(torch::equal(a.layers[i].layer->weight, b.layers[i].layer->weight));
        QVERIFY(torch::equal(a.layers[i].layer->mask, b.layers[i].layer->mask));
        QVERIFY(torch::equal(a.layers[i].eventMask, b.layers[i].eventMask));
    }
    QCOMPARE(a.ttController.alpha(), b.ttController.alpha());

    // Checkpoint readers (export, convert, bench --run) get the weights the model computes with.
    const auto loaded = loadCheckpointModel(ckpt);
    const auto loadedLayers = loaded.model->sparseLayers();
    QCOMPARE(loadedLayers.size(), size_t(3));
    for (size_t i = 0; i < 3; ++i) {
        const auto* st = first.internals().layers[i].layer;
        QVERIFY(torch::equal(loadedLayers[i].layer->weight, st->weight.detach() * st->mask));
    }

    // A checkpoint whose mask disagrees with its weights and thresholds is refused.
    {
        torch::NoGradGuard noGrad;
        first.internals().layers[0].layer->mask.logical_not_();
    }
    first.saveCheckpoint(ckpt);
    Trainer damaged(c);
    bool refused = false;
    try {
        damaged.loadCheckpoint(ckpt);
    } catch (const CheckpointError& e) {
        refused = std::string(e.what()).find("threshold") != std::string::npos;
    }
    QVERIFY(refused);
}

void TestTrainableThreshold::nonFiniteObjectiveStopsCleanly() {
    // The task loss (what every method checks) ...
    {
        RunConfig c = tiny();
        c.lr = 1e30;
        Trainer trainer(c);
        while (trainer.trainStep()) {
        }
        QVERIFY(trainer.lastStatus() == TrainingStatus::Diverged);
        QVERIFY(trainer.step() < trainer.totalSteps());
        const auto summary = trainer.finish();
        QVERIFY(summary.status == TrainingStatus::Diverged);
    }
    // ... and the regulariser: thresholds far below zero make alpha * exp(-t) overflow.
    {
        RunConfig c = tiny();
        Trainer trainer(c);
        {
            torch::NoGradGuard noGrad;
            trainer.internals().layers[1].layer->threshold.fill_(-200.0);
        }
        QVERIFY(!trainer.trainStep());
        QVERIFY(trainer.lastStatus() == TrainingStatus::Diverged);
        QCOMPARE(trainer.step(), int64_t(0)); // nothing was applied
        const auto summary = trainer.finish();
        QVERIFY(summary.status == TrainingStatus::Diverged);
        QVERIFY2(summary.message.find("regulariser") != std::string::npos, summary.message.c_str());
    }
}

void TestTrainableThreshold::badInputNamesTheKey() {
    auto with = [](const std::function<void(RunConfig&)>& change) {
        RunConfig c = tiny();
        change(c);
        return configErrorKey([&] { validateConfig(c); });
    };
    validateConfig(tiny());
    QCOMPARE(with([](RunConfig& c) { c.tt_alpha = -1e-4; }), std::string("tt_alpha"));
    for (double bad : {1.0, -0.1, 1.5})
        QCOMPARE(with([&](RunConfig& c) { c.tt_target_density = bad; }), std::string("tt_target_density"));
    QCOMPARE(with([](RunConfig& c) { c.tt_target_density = 0.1; }), std::string("<no ConfigError>"));
    QCOMPARE(with([](RunConfig& c) { c.tt_target_density = 0.1, c.tt_alpha = 0.0; }), std::string("tt_alpha"));
    QCOMPARE(with([](RunConfig& c) { c.tt_target_density = 0.1, c.method = "rigl"; }),
             std::string("tt_target_density"));
    QCOMPARE(with([](RunConfig& c) { c.tt_record_every = 0; }), std::string("tt_record_every"));
    QCOMPARE(with([](RunConfig& c) { c.tt_record_every = -5; }), std::string("tt_record_every"));
    QCOMPARE(with([](RunConfig& c) { c.nm = "4:8"; }), std::string("nm"));
    QCOMPARE(with([](RunConfig& c) { c.sparse_compute = "condensed"; }), std::string("sparse_compute"));
    QCOMPARE(with([](RunConfig& c) { c.ablate_unused = true; }), std::string("ablate_unused"));
    QCOMPARE(with([](RunConfig& c) { c.sparse_opt = true; }), std::string("sparse_opt"));
    // The same through the paths users take: --set and JSON.
    RunConfig c = tiny();
    applyOverride(c, "tt_alpha=-1");
    QCOMPARE(configErrorKey([&] { validateConfig(c); }), std::string("tt_alpha"));
    QCOMPARE(configErrorKey([] { configFromJson(R"({"tt_record_every": 2.5})"); }), std::string("tt_record_every"));
    QCOMPARE(configErrorKey(
                 [] { Trainer t(configFromJson(R"({"method": "trainable_threshold", "tt_target_density": 2})")); }),
             std::string("tt_target_density"));
}

QTEST_GUILESS_MAIN(TestTrainableThreshold)
#include "test_trainable_threshold.moc"
