// Conversion of trained models to N:M (engine/conversion/nm_conversion.hpp): masks valid after every
// stage, least-squares reconstruction (linear and convolution layers, fan-ins that are not a
// multiple of M included) against a direct reference and never worse than before, mean absorption
// keeping the mean output, batch-norm statistics recomputed, checkpoints that load, the iterative
// (conjugate-gradient) refit of large rows equal to the direct solve, and clear
// errors for inputs that cannot be converted.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/conversion/batch_norm_reestimation.hpp"
#include "engine/conversion/conv_reconstruction.hpp"
#include "engine/conversion/converted_checkpoint.hpp"
#include "engine/conversion/layer_inputs.hpp"
#include "engine/conversion/layer_reconstruction.hpp"
#include "engine/analysis/mask_diversity.hpp"
#include "engine/conversion/mean_absorption.hpp"
#include "engine/conversion/nm_conversion.hpp"
#include "engine/nm/nm_mask.hpp"
#include "engine/conversion/row_conjugate_gradient.hpp"
#include "engine/nm/transposable_mask.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "tests/support/guarded.hpp"

#include <QTemporaryDir>

#include <algorithm>
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

// Any engine model with unstructured-sparse layers (a sparse run's checkpoint).
std::shared_ptr<SparseModelImpl> sparseModel(const std::string& name, const std::string& hidden, const InputShape& input,
                                             double density, uint64_t seed) {
    torch::manual_seed(seed);
    auto model = buildModel(name, hidden, input);
    torch::NoGradGuard noGrad;
    for (const auto& l : model->sparseLayers()) {
        l.layer->setMask(torch::rand(l.layer->weight.sizes()) < density);
        l.layer->applyMask();
    }
    model->eval();
    return model;
}

std::shared_ptr<SparseModelImpl> sparseModel(const std::string& name, const InputShape& input, double density, uint64_t seed) {
    return sparseModel(name, "", input, density, seed);
}

// An MLP on 28x28 inputs whose layers are made unstructured-sparse, as a trained sparse run is.
std::shared_ptr<SparseModelImpl> sparseMlp(const std::string& hidden, double density, uint64_t seed) {
    return sparseModel("mlp", hidden, inputShapeOf("synthetic"), density, seed);
}

std::vector<torch::Tensor> calibrationBatches(int batches, int64_t size, uint64_t seed, int64_t channels = 1,
                                              int64_t side = 28) {
    torch::manual_seed(seed);
    std::vector<torch::Tensor> out;
    for (int i = 0; i < batches; ++i) out.push_back(torch::rand({size, channels, side, side}) * 2 - 0.5);
    return out;
}

SparseLayer* layerNamed(SparseModelImpl& model, const std::string& name) {
    for (const auto& l : model.sparseLayers())
        if (l.name == name) return l.layer;
    return nullptr;
}

// Minimum-norm least-squares solution of a x = y through the SVD (the reference the normal
// equations of layer_reconstruction.cpp are compared with).
torch::Tensor leastSquares(const torch::Tensor& a, const torch::Tensor& y) {
    const auto svd = at::linalg_svd(a, /*full_matrices=*/false);
    const auto& u = std::get<0>(svd);
    const auto& sv = std::get<1>(svd);
    const auto& vh = std::get<2>(svd);
    const auto keep = sv > sv.max() * 1e-10;
    const auto inv = torch::where(keep, 1.0 / sv, torch::zeros_like(sv));
    return vh.t().mv(u.t().mv(y) * inv);
}

// Input patches of a convolution built by hand (no unfold): one row per (sample, output y, x), the
// columns in weight.view({out, -1}) order (in, kh, kw).
torch::Tensor patchesByHand(const torch::Tensor& input, int64_t k, int64_t stride, int64_t pad) {
    const auto x = torch::constant_pad_nd(input.to(torch::kDouble), {pad, pad, pad, pad});
    const int64_t n = input.size(0), c = input.size(1);
    const int64_t oh = (input.size(2) + 2 * pad - k) / stride + 1, ow = (input.size(3) + 2 * pad - k) / stride + 1;
    auto rows = torch::empty({n * oh * ow, c * k * k}, torch::kDouble);
    auto acc = rows.accessor<double, 2>();
    const auto xa = x.accessor<double, 4>();
    for (int64_t s = 0; s < n; ++s)
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j)
                for (int64_t ch = 0; ch < c; ++ch)
                    for (int64_t u = 0; u < k; ++u)
                        for (int64_t v = 0; v < k; ++v)
                            acc[(s * oh + i) * ow + j][(ch * k + u) * k + v] = xa[s][ch][i * stride + u][j * stride + v];
    return rows;
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
    void paddedLayersConvertLikeTraining();
    void paddedReconstructionEqualsLeastSquaresReference();
    void convolutionInputsAreTheLayersInputs();
    void convReconstructionEqualsLeastSquaresReference();
    void lenet5ConversionRefitsConvolutions();
    void resnet18ConversionRefitsConvolutionsAndBatchNorm();
    void layersAboveTheDirectLimitAreRefitIteratively();
    void conjugateGradientEqualsDirectSolve();
    void iterativeReconstructionEqualsLeastSquaresReference();
    void iterativeRefitLowersTheErrorAndNeverRaisesIt();
    void conjugateGradientRejectsBadInputs();
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
        // Inputs that are all zero (a layer behind dead ReLUs) solve without error, with or without a
        // bias and damping: the weights become zero and the bias the targets' mean.
        for (double damping : {0.0, 1e-4}) {
            ReconstructionOptions none;
            none.damping = damping;
            const auto zeros = torch::zeros({30, 8});
            auto dead = w.clone();
            auto deadBias = torch::randn({6});
            const auto target = torch::randn({30, 6});
            const auto rz = reconstructLinear(dead, m, deadBias, zeros, target, none);
            QVERIFY(rz.errorAfter <= rz.errorBefore);
            QVERIFY(torch::allclose(deadBias, target.mean(0), 1e-4, 1e-4));
            auto deadNoBias = w.clone();
            const auto rn = reconstructLinear(deadNoBias, m, noBias, zeros, target, none);
            QVERIFY(rn.errorAfter <= rn.errorBefore * (1 + 1e-9));
            QVERIFY(torch::isfinite(deadNoBias).all().item<bool>());
        }
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
        o.pattern = parseNm("4:8");
        checkConvertible(*model, o); // fan-ins that are not a multiple of M convert (padded)
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

void TestNmConversion::paddedLayersConvertLikeTraining() {
    guarded([] {
        // fc1 784 inputs (98 groups of 8), fc2 30 (3 groups and a trailing 6), fc3 12 (1 and a trailing 4).
        auto model = sparseMlp("30,12", 0.9, 12);
        std::vector<torch::Tensor> before;
        for (const auto& l : model->sparseLayers()) before.push_back(l.layer->weight.clone());
        const auto calibration = calibrationBatches(2, 64, 13);
        const auto evaluate = agreementWith(*model, torch::rand({100, 1, 28, 28}));
        ConversionOptions o;
        o.pattern = parseNm("3:8");
        const ConversionReport r = convertToNm(*model, calibration, evaluate, o);
        for (const auto& s : r.stages) QVERIFY2(s.masksValid, s.name.c_str());
        const auto layers = model->sparseLayers();
        for (size_t i = 0; i < layers.size(); ++i) {
            const auto& mask = layers[i].layer->mask;
            QVERIFY(r.layers[i].converted && r.layers[i].reconstructed);
            QVERIFY(nmValid(mask, o.pattern));
            // The mask is the one training computes for these weights (top 3 of each group, the
            // trailing group of r keeping min(3, r)).
            QVERIFY(torch::equal(mask, nmMask(before[i], o.pattern)));
            const int64_t in = mask.size(1), full = in / 8 * 8;
            QVERIFY(mask.slice(1, 0, full).view({mask.size(0), -1, 8}).sum(-1).eq(3).all().item<bool>());
            if (in > full) QVERIFY(mask.slice(1, full, in).sum(1).eq(std::min<int64_t>(3, in - full)).all().item<bool>());
            QVERIFY((layers[i].layer->weight.masked_select(mask.logical_not()) == 0).all().item<bool>());
            QVERIFY2(r.layers[i].errorAfter <= r.layers[i].errorBefore * (1 + 1e-9), layers[i].name.c_str());
            QCOMPARE(r.layers[i].log10Diversity, log10MdNm(mask.size(0), in, o.pattern));
        }
        QVERIFY(r.stages[3].logitError < r.stages[1].logitError);

        // Transposable 4:8: fc3's 10 outputs and 12 inputs leave partial tiles on both edges.
        auto dense = sparseMlp("30,12", 1.0, 14);
        o.pattern = parseNm("4:8");
        o.transposable = true;
        const auto evaluateDense = agreementWith(*dense, torch::rand({100, 1, 28, 28}));
        const ConversionReport t = convertToNm(*dense, calibration, evaluateDense, o);
        for (const auto& s : t.stages) QVERIFY(s.masksValid);
        for (const auto& l : dense->sparseLayers()) {
            QVERIFY(transposableValid(l.layer->mask, o.pattern)); // training's nm_valid for transposable masks
            // Rows whose groups are all full keep exactly N per group; fc2's trailing group of 6
            // may keep fewer than 4 real inputs, since its 2 padding columns must keep 4 each.
            if (l.layer->mask.size(1) % 8 == 0) QVERIFY(nmValid(l.layer->mask, o.pattern));
        }
        for (const auto& info : t.layers) QVERIFY(info.converted && info.errorAfter <= info.errorBefore * (1 + 1e-9));
    });
}

void TestNmConversion::paddedReconstructionEqualsLeastSquaresReference() {
    guarded([] {
        torch::manual_seed(15);
        const NmPattern p{2, 4};
        for (int64_t in : {10, 7, 3}) { // trailing groups of 2, 3 and 3 inputs
            auto weight = torch::randn({4, in});
            auto bias = torch::randn({4});
            const auto x = torch::randn({30, in});
            const auto y = x.mm(torch::randn({in, 4})) + 0.3 * torch::randn({30, 4});
            const auto mask = nmMask(weight, p);
            QVERIFY(nmValid(mask, p));
            weight = weight * mask;
            const double errorBefore = reconstructionError(weight, mask, bias, x, y);
            ReconstructionOptions o;
            o.damping = 0;
            const auto r = reconstructLinear(weight, mask, bias, x, y, o);
            QVERIFY(r.errorAfter <= errorBefore * (1 + 1e-9));
            QVERIFY((weight.masked_select(mask.logical_not()) == 0).all().item<bool>());
            const auto xd = x.to(torch::kDouble);
            for (int64_t row = 0; row < 4; ++row) {
                const auto kept = mask[row].nonzero().view({-1});
                QCOMPARE(kept.numel(), 2 * (in / 4) + std::min<int64_t>(2, in % 4));
                const auto a = torch::cat({xd.index_select(1, kept), torch::ones({30, 1}, torch::kDouble)}, 1);
                const auto ref = leastSquares(a, y.select(1, row).to(torch::kDouble));
                const auto got = torch::cat({weight[row].index_select(0, kept).to(torch::kDouble), bias.slice(0, row, row + 1).to(torch::kDouble)});
                QVERIFY2(torch::allclose(got, ref, 1e-4, 1e-4), qPrintable(QString("in %1 row %2").arg(in).arg(row)));
            }
        }
    });
}

void TestNmConversion::convolutionInputsAreTheLayersInputs() {
    guarded([] {
        auto model = sparseModel("lenet5", inputShapeOf("synthetic"), 0.7, 16);
        auto* conv1 = layerNamed(*model, "conv1");
        auto* conv2 = layerNamed(*model, "conv2");
        auto* fc1 = layerNamed(*model, "fc1");
        QVERIFY(conv1 && conv2 && fc1);
        conv2->straightThrough = true;
        conv1->weight.requires_grad_(false);
        const auto x = torch::randn({3, 1, 28, 28});
        const auto got = convolutionInputs(*model, x, {conv2, fc1, conv1});
        QCOMPARE(got.size(), size_t{3});
        QVERIFY(got[0].defined() && !got[1].defined() && got[2].defined()); // linear layers: not read here
        torch::NoGradGuard noGrad;
        auto* c1 = dynamic_cast<SparseConv2dImpl*>(conv1);
        const auto expected = torch::max_pool2d(torch::relu(c1->forward(x)), 2);
        QVERIFY(torch::allclose(got[0], expected, 1e-6, 1e-6));
        QVERIFY(torch::equal(got[2], x));
        QVERIFY(!got[0].requires_grad());
        // The layers are as they were: not capturing, nothing kept, flags untouched.
        QVERIFY(!c1->captureInput && !c1->capturedInput.defined());
        QVERIFY(conv2->straightThrough && !conv1->straightThrough);
        QVERIFY(!conv1->weight.requires_grad() && conv2->weight.requires_grad());
    });
}

void TestNmConversion::convReconstructionEqualsLeastSquaresReference() {
    guarded([] {
        torch::manual_seed(17);
        const NmPattern p{2, 4};
        // 3 input channels: every kernel position is one trailing (padded) group of 3 keeping 2.
        SparseConv2d conv(3, 4, 3, /*stride=*/2, /*padding=*/1);
        SparseConv2d original(3, 4, 3, 2, 1);
        torch::NoGradGuard noGrad;
        const auto mask = nmMask(conv->weight, p);
        QVERIFY(nmValid(mask, p));
        conv->setMask(mask);
        conv->applyMask();
        const std::vector<torch::Tensor> inputs = {torch::randn({3, 3, 7, 7}), torch::randn({2, 3, 7, 7})};
        std::vector<torch::Tensor> targets;
        for (const auto& in : inputs) targets.push_back(original->forward(in) + 0.1 * torch::randn({in.size(0), 4, 4, 4}));

        // The reference: patches by hand, then the SVD least squares of each output channel.
        const auto a = torch::cat({patchesByHand(inputs[0], 3, 2, 1), patchesByHand(inputs[1], 3, 2, 1)}, 0); // [80, 27]
        QVERIFY(torch::allclose(convolutionPatches(*conv, inputs[0]).to(torch::kDouble), patchesByHand(inputs[0], 3, 2, 1), 1e-6, 1e-6));
        const auto y = torch::cat({targets[0].permute({0, 2, 3, 1}).reshape({-1, 4}), targets[1].permute({0, 2, 3, 1}).reshape({-1, 4})}, 0).to(torch::kDouble);
        auto errorOf = [&](const SparseConv2dImpl& c) {
            const auto w = (c.weight * c.mask).view({4, -1}).to(torch::kDouble);
            return (a.mm(w.t()) + c.bias.to(torch::kDouble) - y).pow(2).sum().item<double>();
        };
        const double before = errorOf(*conv);

        ReconstructionOptions o;
        o.damping = 0;
        const auto r = reconstructConvolution(*conv, inputs, targets, o);
        QVERIFY(std::abs(r.errorBefore - before) <= 1e-6 * before);
        QVERIFY(r.errorAfter <= before * (1 + 1e-9));
        QVERIFY(std::abs(r.errorAfter - errorOf(*conv)) <= 1e-4 * before);
        QVERIFY((conv->weight.masked_select(mask.logical_not()) == 0).all().item<bool>());
        const auto w = conv->weight.view({4, -1}).to(torch::kDouble);
        const auto m = mask.view({4, -1});
        for (int64_t row = 0; row < 4; ++row) {
            const auto kept = m[row].nonzero().view({-1});
            QCOMPARE(kept.numel(), int64_t{18}); // 9 positions x 2
            const auto ref = leastSquares(torch::cat({a.index_select(1, kept), torch::ones({a.size(0), 1}, torch::kDouble)}, 1), y.select(1, row));
            const auto got = torch::cat({w[row].index_select(0, kept), conv->bias.slice(0, row, row + 1).to(torch::kDouble)});
            QVERIFY2(torch::allclose(got, ref, 1e-4, 1e-4), qPrintable(QString("channel %1").arg(row)));
        }
        // With a ridge term too large to help, every channel keeps its values (never worse).
        auto copy = conv->weight.clone();
        o.damping = 1e8;
        const auto heavy = reconstructConvolution(*conv, inputs, targets, o);
        QCOMPARE(heavy.rowsUnchanged, int64_t{4});
        QVERIFY(torch::equal(copy, conv->weight));
        QVERIFY(heavy.errorAfter <= heavy.errorBefore);
    });
}

void TestNmConversion::lenet5ConversionRefitsConvolutions() {
    guarded([] {
        auto model = sparseModel("lenet5", inputShapeOf("synthetic"), 0.8, 18);
        const auto calibration = calibrationBatches(2, 48, 19);
        const auto evaluate = agreementWith(*model, torch::rand({100, 1, 28, 28}));
        ConversionOptions o;
        o.pattern = parseNm("2:4");
        const ConversionReport r = convertToNm(*model, calibration, evaluate, o);
        for (const auto& s : r.stages) QVERIFY2(s.masksValid, s.name.c_str());
        QVERIFY2(r.stages[2].applied && r.stages[2].note == "2 conv + 3 linear layers", r.stages[2].note.c_str());
        QVERIFY2(r.stages[3].applied && r.stages[3].note == "2 conv + 3 linear layers", r.stages[3].note.c_str());
        for (const auto& info : r.layers) {
            QVERIFY2(info.converted && info.reconstructed, info.name.c_str());
            QVERIFY2(info.errorAfter <= info.errorBefore * (1 + 1e-9), info.name.c_str());
        }
        // conv2 (6 input channels: a group of 4 and a trailing 2 per kernel position) is refit for real.
        QVERIFY(r.layers[1].name == "conv2" && r.layers[1].errorAfter < 0.9 * r.layers[1].errorBefore);
        for (const auto& l : model->sparseLayers()) QVERIFY(nmValid(l.layer->mask, o.pattern));
        QVERIFY(r.stages[3].logitError < r.stages[2].logitError);
        QVERIFY(r.stages[3].logitError < r.stages[1].logitError);
        QVERIFY(!model->is_training());
    });
}

void TestNmConversion::resnet18ConversionRefitsConvolutionsAndBatchNorm() {
    guarded([] {
        torch::set_num_threads(2);
        auto model = sparseModel("resnet18", InputShape{3, 32, 32, 10}, 1.0, 20);
        // Batch norms with statistics of their own, as after training.
        {
            torch::NoGradGuard noGrad;
            for (const auto& m : model->modules(false))
                if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(m)) {
                    bn->running_mean.uniform_(-0.2, 0.2);
                    bn->running_var.uniform_(0.5, 2.0);
                }
        }
        const auto calibration = calibrationBatches(2, 4, 21, 3, 32);
        const auto evaluate = agreementWith(*model, torch::rand({8, 3, 32, 32}));
        ConversionOptions o;
        o.pattern = parseNm("2:4");
        // A small case: the stem (3 channels, padded groups), a block's 3x3 convolution, a strided
        // 1x1 shortcut and the classifier; everything else stays as it is.
        const std::vector<std::string> converted = {"conv1", "layers.0.conv1", "layers.2.shortcut", "fc"};
        for (const auto& l : model->sparseLayers())
            if (std::find(converted.begin(), converted.end(), l.name) == converted.end()) o.skipLayers.push_back(l.name);
        const ConversionReport r = convertToNm(*model, calibration, evaluate, o);
        for (const auto& s : r.stages) QVERIFY2(s.masksValid, s.name.c_str());
        QVERIFY2(r.stages[3].note == "3 conv + 1 linear layers", r.stages[3].note.c_str());
        QVERIFY(r.stages[4].applied);
        QCOMPARE(r.batchNorms, 20);
        int refit = 0;
        for (const auto& info : r.layers) {
            const bool wanted = std::find(converted.begin(), converted.end(), info.name) != converted.end();
            QCOMPARE(info.converted, wanted);
            QCOMPARE(info.reconstructed, wanted);
            if (!wanted) continue;
            QVERIFY2(info.errorAfter <= info.errorBefore * (1 + 1e-9), info.name.c_str());
            refit += info.errorAfter < info.errorBefore;
            QVERIFY(nmValid(layerNamed(*model, info.name)->mask, o.pattern));
        }
        QVERIFY(refit >= 3);
        QVERIFY(r.stages[3].logitError < r.stages[1].logitError);
        // Stage 4 recomputed the statistics from the calibration batches: no longer the ones set above.
        for (const auto& m : model->modules(false))
            if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(m)) {
                QVERIFY(bn->running_var.min().item<double>() >= 0);
                QVERIFY(bn->num_batches_tracked.item<int64_t>() == 2);
            }
        QVERIFY(!model->is_training());
    });
}

void TestNmConversion::layersAboveTheDirectLimitAreRefitIteratively() {
    guarded([] {
        const auto calibration = calibrationBatches(1, 64, 23);
        ConversionOptions o;
        o.pattern = parseNm("2:4");
        auto directModel = sparseMlp("32,16", 1.0, 22);
        const ConversionReport direct = convertToNm(*directModel, calibration, agreementWith(*directModel, calibration[0]), o);
        auto model = sparseMlp("32,16", 1.0, 22);
        o.reconstruction.maxDirect = 100; // fc1 keeps 392 inputs per row (+ bias), fc2 16 + 1, fc3 8 + 1
        o.reconstruction.iterative.tolerance = 1e-10;
        o.reconstruction.iterative.maxIterations = 1000;
        const ConversionReport r = convertToNm(*model, calibration, agreementWith(*model, calibration[0]), o);
        for (const auto& l : r.layers) QVERIFY2(l.reconstructed, l.name.c_str());
        QVERIFY(r.layers[0].iterative && !r.layers[1].iterative && !r.layers[2].iterative);
        QVERIFY(!direct.layers[0].iterative);
        QVERIFY2(r.stages[3].note.find("conjugate gradient for rows keeping more than 100 inputs: fc1") != std::string::npos,
                 r.stages[3].note.c_str());
        QVERIFY(r.layers[0].errorAfter < r.layers[0].errorBefore);
        // The same refit as the direct solve: same errors, same weights (float precision).
        QVERIFY(std::abs(r.layers[0].errorAfter - direct.layers[0].errorAfter) <= 1e-6 * direct.layers[0].errorBefore);
        for (const std::string name : {"fc1", "fc2", "fc3"}) {
            QVERIFY(nmValid(layerNamed(*model, name)->mask, o.pattern));
            QVERIFY2(torch::allclose(layerNamed(*model, name)->weight, layerNamed(*directModel, name)->weight, 1e-4, 1e-5),
                     name.c_str());
            QVERIFY(torch::allclose(layerNamed(*model, name)->bias, layerNamed(*directModel, name)->bias, 1e-4, 1e-5));
        }
    });
}

namespace {

// Random masked normal equations: X has zero columns (rank-deficient Gram matrix, as MNIST's border
// pixels give), rows keep different numbers of inputs, and the mask is arbitrary (not N:M).
struct MaskedProblem {
    torch::Tensor h, g, keep, start;
};

MaskedProblem maskedProblem(int64_t rows, int64_t cols, int64_t samples, uint64_t seed) {
    torch::manual_seed(seed);
    auto x = torch::randn({samples, cols}, torch::kDouble) + 0.5;
    x.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 3)}, 0.0);
    const auto y = torch::randn({samples, rows}, torch::kDouble);
    auto keep = torch::zeros({rows, cols}, torch::kBool);
    for (int64_t r = 0; r < rows; ++r) keep[r].index_fill_(0, torch::randperm(cols).slice(0, 0, 2 + (r * 7) % (cols - 2)), true);
    return {x.t().mm(x), y.t().mm(x), keep, torch::randn({rows, cols}, torch::kDouble)};
}

} // namespace

void TestNmConversion::conjugateGradientEqualsDirectSolve() {
    guarded([] {
        for (const int64_t samples : {200, 20}) { // over- and under-determined (rank 20 < 40 columns)
            const auto p = maskedProblem(9, 40, samples, 31);
            const double lambda = 1e-3 * p.h.diagonal().mean().item<double>();
            auto rows = p.start.clone();
            RowConjugateGradientOptions o;
            o.tolerance = 1e-11;
            o.maxIterations = 1000;
            const auto cg = solveRowsByConjugateGradient(p.h, p.keep, p.g, lambda, rows, o);
            QCOMPARE(cg.rowsConverged, int64_t{9});
            QVERIFY(cg.maxRelativeResidual <= 1e-11);
            QVERIFY(cg.iterations < o.maxIterations);
            for (int64_t r = 0; r < 9; ++r) {
                const auto kept = p.keep[r].nonzero().view({-1});
                const auto a = p.h.index_select(0, kept).index_select(1, kept) + lambda * torch::eye(kept.numel(), torch::kDouble);
                const auto ref = at::linalg_solve(a, p.g[r].index_select(0, kept).unsqueeze(1)).squeeze(1);
                const auto got = rows[r].index_select(0, kept);
                // The scaled residual is 1e-11; the error can be the condition number times that (large in
                // the under-determined case, where only lambda bounds half of the spectrum from below).
                const double error = ((got - ref).norm() / ref.norm()).item<double>();
                QVERIFY2(error <= 1e-7, qPrintable(QString("row %1: relative error %2").arg(r).arg(error)));
                QVERIFY((rows[r].masked_select(p.keep[r].logical_not()) == 0).all().item<bool>());
            }
            // Started at the solution, it stops at once and stays there.
            auto again = rows.clone();
            const auto still = solveRowsByConjugateGradient(p.h, p.keep, p.g, lambda, again, o);
            QVERIFY(still.iterations <= 1);
            QVERIFY(torch::allclose(again, rows, 1e-12, 1e-12));
        }
    });
}

void TestNmConversion::iterativeReconstructionEqualsLeastSquaresReference() {
    guarded([] {
        for (const bool withBias : {true, false}) {
            torch::manual_seed(withBias ? 41 : 42);
            auto x = torch::randn({60, 24}) + 0.3;
            x.index_put_({torch::indexing::Slice(), 5}, 0.0); // a dead input: rank-deficient
            const auto y = torch::randn({60, 7});
            // Rows of different k: 2:4, and two rows that keep everything.
            auto mask = nmMask(torch::randn({7, 24}), NmPattern{2, 4});
            mask.slice(0, 5, 7).fill_(true);
            const auto start = torch::randn({7, 24}) * mask;
            const auto startBias = withBias ? torch::randn({7}) : torch::Tensor();
            ReconstructionOptions o;
            o.damping = 0;
            o.maxDirect = 0; // every row by conjugate gradient
            o.iterative.tolerance = 1e-11;
            o.iterative.maxIterations = 1000;
            auto weight = start.clone();
            auto bias = withBias ? startBias.clone() : torch::Tensor();
            const auto r = reconstructLinear(weight, mask, bias, x, y, o);
            QCOMPARE(r.rowsIterative, int64_t{7});
            QVERIFY(r.maxRelativeResidual <= 1e-11);
            // The direct solve gives the same rows.
            ReconstructionOptions d = o;
            d.maxDirect = 1 << 20;
            auto directWeight = start.clone();
            auto directBias = withBias ? startBias.clone() : torch::Tensor();
            const auto rd = reconstructLinear(directWeight, mask, directBias, x, y, d);
            QCOMPARE(rd.rowsIterative, int64_t{0});
            QVERIFY2(torch::allclose(weight, directWeight, 1e-5, 1e-5), qPrintable(QString("max diff %1 rows unchanged %2 %3").arg((weight - directWeight).abs().max().item<double>()).arg(r.rowsUnchanged).arg(rd.rowsUnchanged)));
            if (withBias) QVERIFY(torch::allclose(bias, directBias, 1e-5, 1e-5));
            QVERIFY(std::abs(r.errorAfter - rd.errorAfter) <= 1e-9 * rd.errorBefore);
            // And the minimum-norm least-squares reference (the dead input's weight is zero in both).
            const auto xd = x.to(torch::kDouble);
            for (int64_t row = 0; row < 7; ++row) {
                const auto kept = mask[row].nonzero().view({-1});
                auto a = xd.index_select(1, kept);
                auto got = weight[row].index_select(0, kept).to(torch::kDouble);
                if (withBias) {
                    a = torch::cat({a, torch::ones({60, 1}, torch::kDouble)}, 1);
                    got = torch::cat({got, bias.slice(0, row, row + 1).to(torch::kDouble)});
                }
                const auto ref = leastSquares(a, y.select(1, row).to(torch::kDouble));
                QVERIFY2(torch::allclose(got, ref, 1e-4, 1e-4), qPrintable(QString("row %1, bias %2").arg(row).arg(withBias)));
            }
        }
    });
}

void TestNmConversion::iterativeRefitLowersTheErrorAndNeverRaisesIt() {
    guarded([] {
        torch::manual_seed(43);
        const auto dense = torch::randn({16, 256});
        const auto x = torch::randn({300, 256}) + 0.5;
        const auto y = x.mm(dense.t()) + 0.1 * torch::randn({300, 16});
        const auto mask = nmMask(dense, NmPattern{2, 4}); // 128 kept inputs per row
        for (const int64_t cap : {int64_t{500}, int64_t{2}}) {
            auto weight = dense * mask;
            auto bias = torch::zeros({16});
            const double before = reconstructionError(weight, mask, bias, x, y);
            ReconstructionOptions o;
            o.maxDirect = 64;
            o.iterative.maxIterations = cap;
            const auto r = reconstructLinear(weight, mask, bias, x, y, o);
            const double after = reconstructionError(weight, mask, bias, x, y);
            QCOMPARE(r.rowsIterative, int64_t{16});
            QVERIFY(r.iterations <= cap);
            QVERIFY((weight.masked_select(mask.logical_not()) == 0).all().item<bool>());
            QVERIFY2(after < 0.9 * before, qPrintable(QString("cap %1: %2 -> %3").arg(cap).arg(before).arg(after)));
            if (cap == 500) QVERIFY(r.maxRelativeResidual <= 1e-6);
        }
        // Rows that already fit exactly: with a huge damping the iterative fit moves towards zero,
        // is worse, and the rows keep their values.
        auto w = torch::randn({4, 64});
        const auto m = nmMask(w, NmPattern{2, 4});
        w = w * m;
        torch::Tensor noBias;
        const auto xs = torch::randn({100, 64});
        ReconstructionOptions heavy;
        heavy.damping = 1e6;
        heavy.maxDirect = 0;
        auto copy = w.clone();
        const auto r = reconstructLinear(copy, m, noBias, xs, xs.mm(w.t()), heavy);
        QCOMPARE(r.rowsIterative, int64_t{4});
        QCOMPARE(r.rowsUnchanged, int64_t{4});
        QVERIFY(torch::equal(copy, w));
    });
}

void TestNmConversion::conjugateGradientRejectsBadInputs() {
    guarded([] {
        const auto h = torch::eye(6, torch::kDouble);
        const auto keep = torch::ones({2, 6}, torch::kBool);
        const auto g = torch::ones({2, 6}, torch::kDouble);
        auto rows = torch::zeros({2, 6}, torch::kDouble);
        using Invalid = std::invalid_argument;
        QVERIFY(throwsContaining<Invalid>([&] { solveRowsByConjugateGradient(torch::ones({6, 5}, torch::kDouble), keep, g, 1, rows); }, "square"));
        QVERIFY(throwsContaining<Invalid>([&] { solveRowsByConjugateGradient(h, torch::ones({2, 5}, torch::kBool), g, 1, rows); }, "[r, c]"));
        auto shortRows = torch::zeros({3, 6}, torch::kDouble);
        QVERIFY(throwsContaining<Invalid>([&] { solveRowsByConjugateGradient(h, keep, g, 1, shortRows); }, "[r, c]"));
        QVERIFY(throwsContaining<Invalid>([&] { solveRowsByConjugateGradient(h, keep, g, 0, rows); }, "positive ridge"));
        RowConjugateGradientOptions bad;
        bad.maxIterations = -1;
        QVERIFY(throwsContaining<Invalid>([&] { solveRowsByConjugateGradient(h, keep, g, 1, rows, bad); }, "iteration cap"));
        // H = I, lambda 1: the solution is g / 2, reached in one iteration.
        const auto cg = solveRowsByConjugateGradient(h, keep, g, 1, rows);
        QVERIFY(cg.iterations == 1 && cg.rowsConverged == 2);
        QVERIFY(torch::allclose(rows, g / 2));
    });
}

QTEST_GUILESS_MAIN(TestNmConversion)
#include "test_nm_conversion.moc"
