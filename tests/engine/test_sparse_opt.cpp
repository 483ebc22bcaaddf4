// SparseOpt: the per-neuron scale sqrt(neuron density / layer density) against the formula on
// hand-made masks, exactly 1 for constant fan-in without ablation (training is unchanged), and in
// one SGD step of RigL each neuron's update scaled by exactly its factor.
#include <QtTest>

#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"
#include "engine/sparsity/sparse_opt.hpp"
#include "engine/training/trainer.hpp"
#include "tests/support/tiny_configs.hpp"

#include <cmath>

using namespace srigl;

class TestSparseOpt : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void scaleMatchesTheFormula();
    void constantFanInScaleIsExactlyOne();
    void sriglWithoutAblationTrainsIdentically();
    void riglStepIsScaledPerNeuron();
    void denseMethodIsAConfigError();
};

namespace {

RunConfig tiny(const std::string& method) {
    RunConfig c = tinyRunConfig("32,16", 32, 1);
    c.method = method;
    c.sparsity = 0.8;
    c.delta_t = 1000; // no mask update in these steps
    c.momentum = 0.0;
    c.nesterov = false;
    c.weight_decay = 0.0;
    c.sparse_compute = "masked_dense";
    return c;
}

} // namespace

void TestSparseOpt::scaleMatchesTheFormula() {
    // Row densities 1, 0.5, 0: layer density 0.5, so scales sqrt(2), 1, 0.
    auto mask = torch::tensor({1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0}, torch::kBool).view({3, 4});
    auto scale = sparseOptScale(mask);
    QVERIFY(torch::allclose(scale, torch::tensor({std::sqrt(2.0f), 1.0f, 0.0f})));
    // A conv mask [out, in, kh, kw] counts each filter's whole kernel.
    auto conv = torch::zeros({2, 1, 2, 2}, torch::kBool);
    conv[0].fill_(true);
    conv[1][0][0][0] = true;
    scale = sparseOptScale(conv);
    QVERIFY(torch::allclose(scale, torch::tensor({std::sqrt(1.0f / 0.625f), std::sqrt(0.25f / 0.625f)})));
    // Condensed: k per alive row, none in ablated rows.
    scale = sparseOptScaleCondensed(torch::tensor({1.0f, 1.0f, 0.0f, 1.0f}).view({4, 1}));
    QVERIFY(torch::allclose(scale, torch::tensor({1.0f, 1.0f, 0.0f, 1.0f}) * std::sqrt(4.0f / 3.0f)));
    auto grad = torch::ones({3, 4});
    applySparseOpt(grad, sparseOptScale(mask));
    QVERIFY(torch::allclose(grad.sum(1), torch::tensor({4 * std::sqrt(2.0f), 4.0f, 0.0f})));
}

void TestSparseOpt::constantFanInScaleIsExactlyOne() {
    // 7 rows of 3 kept in 13: every density 3/13, whose float mean need not be exactly 3/13.
    auto mask = torch::zeros({7, 13}, torch::kBool);
    for (int r = 0; r < 7; ++r)
        for (int j = 0; j < 3; ++j) mask[r][(r + 4 * j) % 13] = true;
    QVERIFY(torch::equal(sparseOptScale(mask), torch::ones({7})));
    QVERIFY(torch::equal(sparseOptScaleCondensed(torch::ones({5, 1})), torch::ones({5})));
}

void TestSparseOpt::sriglWithoutAblationTrainsIdentically() {
    for (const char* compute : {"masked_dense", "condensed"}) {
        RunConfig c = tiny("srigl");
        c.gamma_sal = 0.0; // no ablation: constant fan-in in every neuron
        c.delta_t = 2;     // mask updates in between
        c.sparse_compute = compute;
        c.max_steps = 6;
        RunConfig opt = c;
        opt.sparse_opt = true;
        Trainer a(c), b(opt);
        while (a.trainStep()) {
        }
        while (b.trainStep()) {
        }
        const auto wa = a.weightSnapshots(), wb = b.weightSnapshots();
        QCOMPARE(wa.size(), wb.size());
        for (size_t i = 0; i < wa.size(); ++i) QVERIFY2(wa[i].values == wb[i].values, compute);
    }
}

void TestSparseOpt::riglStepIsScaledPerNeuron() {
    RunConfig c = tiny("rigl");
    RunConfig opt = c;
    opt.sparse_opt = true;
    Trainer a(c), b(opt);
    const auto w0 = a.weightSnapshots();
    const auto masks = a.maskSnapshot();
    QVERIFY(a.trainStep() && b.trainStep());
    const auto wa = a.weightSnapshots(), wb = b.weightSnapshots();
    int checkedRows = 0, scaledRows = 0;
    for (size_t l = 0; l < w0.size(); ++l) {
        const auto& m = masks[l];
        const int64_t out = m.outFeatures, in = m.fanIn;
        std::vector<double> density(static_cast<size_t>(out));
        double layer = 0.0;
        for (int64_t r = 0; r < out; ++r) {
            int64_t kept = 0;
            for (int64_t j = 0; j < in; ++j) kept += m.bits[size_t((r * in + j) / 8)] >> ((r * in + j) % 8) & 1;
            density[size_t(r)] = double(kept) / double(in);
            layer += density[size_t(r)] / double(out);
        }
        for (int64_t r = 0; r < out; ++r) {
            const double scale = std::sqrt(density[size_t(r)] / layer);
            for (int64_t j = 0; j < in; ++j) {
                const size_t e = size_t(r * in + j);
                const double da = wa[l].values[e] - w0[l].values[e], db = wb[l].values[e] - w0[l].values[e];
                if (std::abs(da) < 1e-6) continue;
                QVERIFY2(std::abs(db - scale * da) <= 1e-3 * std::abs(scale * da) + 1e-8,
                         qPrintable(QStringLiteral("layer %1 row %2: %3 vs %4 * %5").arg(l).arg(r).arg(db).arg(scale).arg(da)));
                ++checkedRows;
                scaledRows += std::abs(scale - 1.0) > 0.05;
                break;
            }
        }
    }
    QVERIFY(checkedRows > 20);
    QVERIFY(scaledRows > 10); // RigL's unstructured rows differ in density: the scale is not 1
}

void TestSparseOpt::denseMethodIsAConfigError() {
    RunConfig c = tiny("dense");
    c.sparse_opt = true;
    try {
        validateConfig(c);
        QFAIL("sparse_opt with method dense was accepted");
    } catch (const ConfigError& e) {
        QCOMPARE(e.key(), std::string("sparse_opt"));
    }
}

QTEST_GUILESS_MAIN(TestSparseOpt)
#include "test_sparse_opt.moc"
