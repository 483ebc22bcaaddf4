// Conversion of trained models to N:M (engine/nm/nm_conversion.hpp): masks valid after every
// stage, least-squares reconstruction against a direct reference and never worse than before, mean
// absorption keeping the mean output, batch-norm statistics recomputed, checkpoints that load, and
// clear errors for inputs that cannot be converted.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/nm/batch_norm_reestimation.hpp"
#include "engine/nm/converted_checkpoint.hpp"
#include "engine/nm/layer_reconstruction.hpp"
#include "engine/nm/mean_absorption.hpp"
#include "engine/nm/nm_conversion.hpp"
#include "engine/nm/nm_mask.hpp"
#include "engine/nm/transposable_mask.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "tests/support/guarded.hpp"

#include <QTemporaryDir>

#include <functional>
#include <string>
#include <vector>

using namespace srigl;
using namespace srigl::nm;

namespace {

template <typename E>
bool throwsContaining(const std::function<void()>& fn, const std::string& text) {
    try {
        fn();
    } catch (const E& e) {
        if (std::string(e.what()).find(text) != std::string::npos) return true;
        qWarning("message was: %s", e.what());
        return false;
    }
    return false;
}

// An MLP on 28x28 inputs whose layers are made unstructured-sparse, as a trained sparse run is.
std::shared_ptr<SparseModelImpl> sparseMlp(const std::string& hidden, double density, uint64_t seed) {
    torch::manual_seed(seed);
    auto model = buildModel("mlp", hidden, inputShapeOf("synthetic"));
    torch::NoGradGuard noGrad;
    for (const auto& l : model->sparseLayers()) {
        l.layer->setMask(torch::rand(l.layer->weight.sizes()) < density);
        l.layer->applyMask();
    }
    model->eval();
    return model;
}

std::vector<torch::Tensor> calibrationBatches(int batches, int64_t size, uint64_t seed) {
    torch::manual_seed(seed);
    std::vector<torch::Tensor> out;
    for (int i = 0; i < batches; ++i) out.push_back(torch::rand({size, 1, 28, 28}) * 2 - 0.5);
    return out;
}

// Accuracy of the model on fixed random data labelled by the model itself before conversion:
// enough for the stages to have something to report.
std::function<double()> agreementWith(SparseModelImpl& model, const torch::Tensor& x) {
    torch::NoGradGuard noGrad;
    const auto labels = model.forward(x).argmax(1);
    return [&model, x, labels] {
        torch::NoGradGuard g;
        return model.forward(x).argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
    };
}

} // namespace

class TestNmConversion : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void masksAreValidAfterEveryStage();
    void transposableMasksAreValidAfterEveryStage();
    void reconstructionNeverIncreasesTheError();
    void reconstructionEqualsLeastSquaresReference();
    void meanAbsorptionKeepsTheMeanOutput();
    void batchNormStatisticsMatchTheBatches();
    void convertedCheckpointLoadsWithTheSameOutputs();
    void badInputsGiveClearErrors();
};

void TestNmConversion::masksAreValidAfterEveryStage() {
    guarded([] {
        auto model = sparseMlp("48,24", 0.7, 1);
        const auto calibration = calibrationBatches(3, 64, 2);
        const auto evaluate = agreementWith(*model, torch::rand({200, 1, 28, 28}));
        ConversionOptions o;
        o.pattern = parseNm("2:4");
        o.skipLayers = {};
        std::vector<std::string> seen;
        const ConversionReport r = convertToNm(*model, calibration, evaluate, o,
                                               [&](const std::string& s, int, int) { seen.push_back(s); });
        QCOMPARE(r.stages.size(), size_t{5});
        const std::vector<std::string> names = {"original", "mask", "absorb", "reconstruct", "batch_norm"};
        for (size_t i = 0; i < names.size(); ++i) {
            QCOMPARE(r.stages[i].name, names[i]);
            QVERIFY(r.stages[i].masksValid);
            QVERIFY(r.stages[i].testAccuracy >= 0 && r.stages[i].testAccuracy <= 1);
        }
        QCOMPARE(r.stages[0].testAccuracy, 1.0); // the labels are the original model's own predictions
        QCOMPARE(r.stages[0].logitError, 0.0);
        QVERIFY(r.stages[3].applied && !r.stages[4].applied); // no batch norm in an MLP
        QCOMPARE(seen.front(), std::string("original"));
        for (const auto& l : model->sparseLayers()) {
            QVERIFY(nmValid(l.layer->mask, o.pattern));
            QVERIFY((l.layer->weight.masked_select(l.layer->mask.logical_not()) == 0).all().item<bool>());
        }
        for (const auto& info : r.layers) {
            QVERIFY(info.converted && info.reconstructed);
            QVERIFY2(info.errorAfter <= info.errorBefore * (1 + 1e-9), qPrintable(QString::fromStdString(info.name)));
            QVERIFY(info.densityBefore < 0.8 && info.keptMagnitude > 0 && info.keptMagnitude <= 1.0 + 1e-6);
            QVERIFY(info.log10Diversity > 0);
        }
        // Reconstruction pulls the converted logits back towards the original ones.
        QVERIFY(r.stages[3].logitError < r.stages[1].logitError);
    });
}

void TestNmConversion::transposableMasksAreValidAfterEveryStage() {
    guarded([] {
        auto model = sparseMlp("32,16", 1.0, 3); // dense
        const auto calibration = calibrationBatches(2, 64, 4);
        const auto evaluate = agreementWith(*model, torch::rand({100, 1, 28, 28}));
        ConversionOptions o;
        o.pattern = parseNm("4:8");
        o.transposable = true;
        o.skipLayers = {"fc3"}; // 16 inputs are fine, but its 10 outputs would be one partial tile row
        o.absorbMean = false;
        const ConversionReport r = convertToNm(*model, calibration, evaluate, o);
        QVERIFY(!r.stages[2].applied && r.stages[2].note == "turned off");
        QCOMPARE(r.stages[2].testAccuracy, r.stages[1].testAccuracy);
        for (const auto& s : r.stages) QVERIFY(s.masksValid);
        for (const auto& l : model->sparseLayers()) {
            if (l.name == "fc3") {
                QVERIFY(l.layer->mask.all().item<bool>());
                continue;
            }
            QVERIFY(nmValid(l.layer->mask, o.pattern));
            QVERIFY(transposableValid(l.layer->mask, o.pattern));
        }
        QVERIFY(!r.layers.back().converted && !r.layers.back().reconstructed);
    });
}

void TestNmConversion::reconstructionNeverIncreasesTheError() {
    guarded([] {
        torch::manual_seed(5);
        for (double damping : {0.0, 1e-4, 10.0}) {
            auto dense = torch::randn({12, 16});
            auto bias = torch::randn({12});
            const auto x = torch::randn({40, 16}) + 1.0; // a mean the bias can take over
            const auto y = x.mm(dense.t()) + bias + 0.1 * torch::randn({40, 12});
            const auto mask = nmMask(dense, NmPattern{2, 4});
            auto weight = dense * mask;
            const double before = reconstructionError(weight, mask, bias, x, y);
            ReconstructionOptions o;
            o.damping = damping;
            const auto r = reconstructLinear(weight, mask, bias, x, y, o);
            const double after = reconstructionError(weight, mask, bias, x, y);
            QVERIFY2(after <= before * (1 + 1e-6), qPrintable(QString("damping %1: %2 -> %3").arg(damping).arg(before).arg(after)));
            QVERIFY(std::abs(r.errorBefore - before) <= 1e-6 * before);
            QVERIFY(std::abs(r.errorAfter - after) <= 1e-4 * before);
            QVERIFY((weight.masked_select(mask.logical_not()) == 0).all().item<bool>());
            if (damping == 0.0) QVERIFY(after < 0.9 * before);
            // Solving again from the optimum changes nothing and never makes it worse.
            const auto again = reconstructLinear(weight, mask, bias, x, y, o);
            QVERIFY(again.errorAfter <= again.errorBefore * (1 + 1e-9));
        }
        // A row whose fit would be worse keeps its values: with a huge damping the fit is near zero
        // while the rows already match the targets exactly.
        auto w = torch::randn({6, 8});
        const auto m = nmMask(w, NmPattern{2, 4});
        w = w * m;
        torch::Tensor noBias;
        const auto x = torch::randn({30, 8});
        const auto y = x.mm(w.t());
        ReconstructionOptions heavy;
        heavy.damping = 1e6;
        auto copy = w.clone();
        const auto r = reconstructLinear(copy, m, noBias, x, y, heavy);
        QCOMPARE(r.rowsUnchanged, int64_t{6});
        QVERIFY(torch::equal(copy, w));
    });
}

void TestNmConversion::reconstructionEqualsLeastSquaresReference() {
    guarded([] {
        torch::manual_seed(6);
        auto weight = torch::randn({3, 8});
        auto bias = torch::randn({3});
        const auto x = torch::randn({20, 8});
        const auto y = torch::randn({20, 3});
        const auto mask = nmMask(weight, NmPattern{2, 4});
        ReconstructionOptions o;
        o.damping = 0;
        reconstructLinear(weight, mask, bias, x, y, o);
        const auto xd = x.to(torch::kDouble);
        for (int64_t r = 0; r < 3; ++r) {
            const auto kept = mask[r].nonzero().view({-1});
            // The reference: the minimum-norm solution through the SVD of [X_kept, 1].
            const auto a = torch::cat({xd.index_select(1, kept), torch::ones({20, 1}, torch::kDouble)}, 1);
            const auto svd = at::linalg_svd(a, /*full_matrices=*/false);
            const auto& u = std::get<0>(svd);
            const auto& sv = std::get<1>(svd);
            const auto& vh = std::get<2>(svd);
            const auto ref = vh.t().mv(u.t().mv(y.select(1, r).to(torch::kDouble)) / sv);
            const auto got = torch::cat({weight[r].index_select(0, kept).to(torch::kDouble), bias.slice(0, r, r + 1).to(torch::kDouble)});
            QVERIFY2(torch::allclose(got, ref, 1e-4, 1e-4), qPrintable(QString("row %1").arg(r)));
        }
    });
}

void TestNmConversion::meanAbsorptionKeepsTheMeanOutput() {
    guarded([] {
        torch::manual_seed(7);
        const auto dense = torch::randn({10, 24});
        auto bias = torch::randn({10});
        const auto x = torch::rand({50, 24}) * 3 + 1; // far from zero mean: the pruned part matters
        const auto mask = nmMask(dense, NmPattern{1, 4});
        const auto meanBefore = (x.mm(dense.t()) + bias).mean(0);
        const auto meanPrunedOnly = (x.mm((dense * mask).t()) + bias).mean(0);
        absorbPrunedMean(bias, dense, mask, x);
        const auto meanAfter = (x.mm((dense * mask).t()) + bias).mean(0);
        QVERIFY(torch::allclose(meanAfter, meanBefore, 1e-4, 1e-4));
        QVERIFY(!torch::allclose(meanPrunedOnly, meanBefore, 1e-2, 1e-2));
        torch::Tensor none;
        QVERIFY(throwsContaining<std::invalid_argument>([&] { absorbPrunedMean(none, dense, mask, x); }, "bias"));
    });
}

void TestNmConversion::batchNormStatisticsMatchTheBatches() {
    guarded([] {
        torch::manual_seed(8);
        torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3)), torch::nn::BatchNorm2d(3));
        auto conv = net[0]->as<torch::nn::Conv2dImpl>();
        auto bn = net[1]->as<torch::nn::BatchNorm2dImpl>();
        bn->running_mean.fill_(5);
        bn->running_var.fill_(7);
        QCOMPARE(countBatchNorms(*net), 1);
        const std::vector<torch::Tensor> batches = {torch::randn({16, 2, 8, 8}) + 1, torch::randn({16, 2, 8, 8}) + 1};
        QCOMPARE(reestimateBatchNorm(*net, batches, [&](const torch::Tensor& x) { return net->forward(x); }), 1);
        torch::NoGradGuard noGrad;
        std::vector<torch::Tensor> means, vars;
        for (const auto& b : batches) {
            const auto z = conv->forward(b);
            means.push_back(z.mean({0, 2, 3}));
            vars.push_back(z.var({0, 2, 3}, /*unbiased=*/true));
        }
        // The cumulative average of equal batches: the mean of all, the average of the batch variances.
        QVERIFY(torch::allclose(bn->running_mean, (means[0] + means[1]) / 2, 1e-4, 1e-5));
        QVERIFY(torch::allclose(bn->running_var, (vars[0] + vars[1]) / 2, 1e-4, 1e-5));
        QVERIFY(!net->is_training());
        QVERIFY(bn->options.momentum().has_value() && *bn->options.momentum() == 0.1);
        QVERIFY(throwsContaining<std::invalid_argument>([&] { reestimateBatchNorm(*net, {}, [&](const torch::Tensor& x) { return net->forward(x); }); },
                                                        "calibration"));
    });
}

void TestNmConversion::convertedCheckpointLoadsWithTheSameOutputs() {
    guarded([] {
        QTemporaryDir tmp;
        auto model = sparseMlp("24,16", 0.5, 9);
        const auto calibration = calibrationBatches(2, 32, 10);
        const auto evaluate = agreementWith(*model, calibration[0]);
        ConversionOptions o;
        o.pattern = parseNm("2:4");
        convertToNm(*model, calibration, evaluate, o);
        RunConfig config;
        config.model = "mlp";
        config.hidden = "24,16";
        config.dataset = "synthetic";
        config.method = "nm_ste";
        const std::string path = tmp.filePath("converted.ckpt").toStdString();
        saveModelCheckpoint(path, config, *model, 123);
        const CheckpointModel loaded = loadCheckpointModel(path);
        QCOMPARE(loaded.step, int64_t{123});
        QCOMPARE(loaded.config.method, std::string("nm_ste"));
        torch::NoGradGuard noGrad;
        QVERIFY(torch::allclose(loaded.model->forward(calibration[1]), model->forward(calibration[1]), 1e-5, 1e-5));
        for (const auto& l : loaded.model->sparseLayers()) QVERIFY(nmValid(l.layer->mask, o.pattern));
    });
}

void TestNmConversion::badInputsGiveClearErrors() {
    guarded([] {
        QVERIFY(throwsContaining<ConfigError>([] { parseNm("4:4"); }, "nm"));
        QVERIFY(throwsContaining<ConfigError>([] { parseNm("two:4"); }, "nm"));
        auto model = sparseMlp("30,12", 1.0, 11); // fc2 has 30 inputs, fc3 12
        ConversionOptions o;
        o.pattern = parseNm("2:4");
        QVERIFY(throwsContaining<ConfigError>([&] { checkConvertible(*model, o); }, "layer fc2 has 30 inputs, not a multiple of M = 4"));
        o.pattern = parseNm("4:8");
        o.skipLayers = {"fc2"};
        QVERIFY(throwsContaining<ConfigError>([&] { checkConvertible(*model, o); }, "layer fc3 has 12 inputs"));
        o.skipLayers = {"fc2", "fc3"};
        checkConvertible(*model, o); // fc1 (784 inputs) alone converts
        o.skipLayers = {"fc9"};
        QVERIFY(throwsContaining<ConfigError>([&] { checkConvertible(*model, o); }, "no layer 'fc9'"));
        o.skipLayers = {"fc1", "fc2", "fc3"};
        QVERIFY(throwsContaining<ConfigError>([&] { checkConvertible(*model, o); }, "nothing to convert"));
        o.skipLayers = {"fc2", "fc3"};
        const auto weightBefore = model->sparseLayers()[0].layer->weight.clone();
        QVERIFY(throwsContaining<DataError>([&] { convertToNm(*model, {}, [] { return 0.0; }, o); }, "calibration set is empty"));
        QVERIFY(torch::equal(model->sparseLayers()[0].layer->weight, weightBefore)); // nothing changed
        auto w = torch::randn({4, 8});
        torch::Tensor b;
        QVERIFY(throwsContaining<std::invalid_argument>([&] { reconstructLinear(w, torch::ones({4, 8}, torch::kBool), b, torch::randn({5, 7}), torch::randn({5, 4})); },
                                                        "fan-in"));
        QVERIFY(throwsContaining<std::invalid_argument>([&] { reconstructLinear(w, torch::ones({4, 8}, torch::kBool), b, torch::randn({0, 8}), torch::randn({0, 4})); },
                                                        "empty"));
    });
}

QTEST_GUILESS_MAIN(TestNmConversion)
#include "test_nm_conversion.moc"
