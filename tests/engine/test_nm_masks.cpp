// N:M masks along the input dimension (Linear and Conv2d layouts, partial groups), the "N:M"
// parser, mask diversity (exact K(M, N), log-binomials against brute force) and the init variance.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/analysis/big_uint.hpp"
#include "engine/analysis/init_variance.hpp"
#include "engine/analysis/mask_diversity.hpp"
#include "engine/nm/nm_mask.hpp"
#include "engine/nm/nm_pattern.hpp"
#include "tests/support/guarded.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>
#include <vector>

using namespace srigl;
using namespace srigl::nm;

namespace {

torch::Generator gen(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// Kept entries of one group are the n largest |w|: the smallest kept >= the largest dropped.
bool keepsLargest(const std::vector<float>& absw, const std::vector<bool>& kept) {
    float minKept = INFINITY, maxDropped = -INFINITY;
    for (size_t i = 0; i < absw.size(); ++i) {
        if (kept[i]) minKept = std::min(minKept, absw[i]);
        else maxDropped = std::max(maxDropped, absw[i]);
    }
    return minKept >= maxDropped;
}

// M x M 0/1 matrices with n ones per row and column, by trying every row choice (brute force).
uint64_t bruteForceK(int m, int n) {
    std::vector<uint32_t> rows;
    for (uint32_t b = 0; b < (1u << m); ++b)
        if (__builtin_popcount(b) == n) rows.push_back(b);
    uint64_t count = 0;
    std::vector<int> cols(m, 0);
    std::function<void(int)> rec = [&](int r) {
        if (r == m) {
            ++count;
            return;
        }
        for (uint32_t b : rows) {
            bool ok = true;
            for (int c = 0; c < m; ++c)
                if ((b >> c & 1u) && cols[c] == n) ok = false;
            if (!ok) continue;
            for (int c = 0; c < m; ++c) cols[c] += b >> c & 1u;
            rec(r + 1);
            for (int c = 0; c < m; ++c) cols[c] -= b >> c & 1u;
        }
    };
    rec(0);
    return count;
}

} // namespace

class TestNmMasks : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parseAcceptsNm();
    void parseRejectsBadText();
    void linearKeepsTopNPerGroup();
    void convGroupsAlongInputChannels();
    void convValidityUsesChannelOrder();
    void partialGroupKeepsMinNR();
    void cpuKernelMatchesTopk();
    void cpuKernelBreaksTiesToLowerIndex();
    void validityRejectsWrongCounts();
    void anyNBelowM();
    void binomialsMatchExactValues();
    void tileCountsExact();
    void tileCountsMatchBruteForce();
    void bigUintDecimal();
    void diversityHandChecked();
    void diversityOrderedByStructure();
    void modelDiversitySumsLayers();
    void initVarianceSideBySide();
};

void TestNmMasks::parseAcceptsNm() {
    guarded([] {
        auto p = parseNm("2:4");
        QCOMPARE(p.n, 2);
        QCOMPARE(p.m, 4);
        p = parseNm(" 4 : 8 ");
        QCOMPARE(p.n, 4);
        QCOMPARE(p.m, 8);
        QCOMPARE(parseNm("1:16").toString(), std::string("1:16"));
        QCOMPARE(parseNm("2:4").density(), 0.5);
    });
}

void TestNmMasks::parseRejectsBadText() {
    for (const char* bad : {"", "2", "2:", ":4", "4:4", "5:4", "0:4", "2:4:8", "a:4", "2:x", "-1:4", "2.5:4", "2:1"}) {
        bool threw = false;
        try {
            parseNm(bad);
        } catch (const ConfigError& e) {
            threw = true;
            QCOMPARE(e.key(), std::string("nm"));
        }
        QVERIFY2(threw, bad);
    }
}

void TestNmMasks::linearKeepsTopNPerGroup() {
    guarded([] {
        auto g = gen(3);
        auto w = torch::randn({7, 24}, g);
        for (auto p : {NmPattern{2, 4}, NmPattern{1, 4}, NmPattern{3, 4}, NmPattern{4, 8}, NmPattern{5, 8}}) {
            auto mask = nmMask(w, p);
            QCOMPARE(mask.sizes(), w.sizes());
            QVERIFY(nmValid(mask, p));
            QCOMPARE(mask.sum().item<int64_t>(), int64_t{7 * 24 / p.m * p.n});
            for (int64_t r = 0; r < 7; ++r)
                for (int64_t g0 = 0; g0 < 24; g0 += p.m) {
                    std::vector<float> a;
                    std::vector<bool> k;
                    for (int j = 0; j < p.m; ++j) {
                        a.push_back(std::fabs(w[r][g0 + j].item<float>()));
                        k.push_back(mask[r][g0 + j].item<bool>());
                    }
                    QVERIFY(keepsLargest(a, k));
                }
        }
    });
}

void TestNmMasks::convGroupsAlongInputChannels() {
    guarded([] {
        auto g = gen(4);
        auto w = torch::randn({5, 8, 3, 2}, g); // [out, in, kh, kw]
        auto mask = nmMask(w, {2, 4});
        QCOMPARE(mask.sizes(), w.sizes());
        QVERIFY(nmValid(mask, 2, 4));
        // Groups: 4 consecutive input channels at one (out, kh, kw).
        for (int64_t o = 0; o < 5; ++o)
            for (int64_t y = 0; y < 3; ++y)
                for (int64_t x = 0; x < 2; ++x)
                    for (int64_t c0 = 0; c0 < 8; c0 += 4) {
                        std::vector<float> a;
                        std::vector<bool> k;
                        int kept = 0;
                        for (int j = 0; j < 4; ++j) {
                            a.push_back(std::fabs(w[o][c0 + j][y][x].item<float>()));
                            k.push_back(mask[o][c0 + j][y][x].item<bool>());
                            kept += k.back();
                        }
                        QCOMPARE(kept, 2);
                        QVERIFY(keepsLargest(a, k));
                    }
    });
}

void TestNmMasks::convValidityUsesChannelOrder() {
    guarded([] {
        auto g = gen(5);
        auto w = torch::randn({4, 8, 2, 2}, g);
        // N:M along the flattened fan-in (in, kh, kw order: groups mix kernel positions) is not
        // N:M along the input channels.
        auto wrong = nmMask(w.view({4, 32}), {2, 4}).view(w.sizes());
        QVERIFY(nmValid(wrong.view({4, 32}), 2, 4));
        QVERIFY(!nmValid(wrong, 2, 4));
        QVERIFY(nmValid(nmMask(w, {2, 4}), 2, 4));
    });
}

void TestNmMasks::partialGroupKeepsMinNR() {
    guarded([] {
        auto g = gen(6);
        // in = 10 with 2:4: two full groups and a trailing group of 2 that keeps min(2, 2) = 2.
        auto w = torch::randn({3, 10}, g);
        auto mask = nmMask(w, {2, 4});
        QVERIFY(nmValid(mask, 2, 4));
        QCOMPARE(mask.slice(1, 8, 10).sum().item<int64_t>(), int64_t{6});
        // in = 9 with 3:4: the trailing group of 1 keeps it.
        auto w2 = torch::randn({3, 9}, g);
        auto m2 = nmMask(w2, {3, 4});
        QVERIFY(nmValid(m2, 3, 4));
        QCOMPARE(m2.slice(1, 8, 9).sum().item<int64_t>(), int64_t{3});
        // in = 11 with 2:8: trailing group of 3 keeps 2 (the two largest).
        auto w3 = torch::tensor({{1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, -9.f, 0.5f, 10.f}});
        auto m3 = nmMask(w3, {2, 8});
        QVERIFY(nmValid(m3, 2, 8));
        QVERIFY(m3[0][8].item<bool>() && m3[0][10].item<bool>() && !m3[0][9].item<bool>());
        // Conv with in = 1 (LeNet-5's first layer): every group is partial and keeps its weight.
        auto w4 = torch::randn({6, 1, 5, 5}, g);
        QVERIFY(nmMask(w4, {2, 4}).all().item<bool>());
        QVERIFY(nmValid(nmMask(w4, {2, 4}), 2, 4));
    });
}

// The mask as it was computed before the CPU kernel: topk over [rows, groups, M] of the permuted
// |w| (and over the trailing partial group). On weights without ties the kernel must agree exactly.
torch::Tensor topkReferenceMask(const torch::Tensor& weight, NmPattern p) {
    auto rows = weight.dim() == 4 ? weight.abs().permute({0, 2, 3, 1}).contiguous().view({-1, weight.size(1)})
                                  : weight.abs().contiguous();
    rows = rows.to(torch::kFloat);
    const int64_t R = rows.size(0), C = rows.size(1), full = C / p.m, rest = C % p.m;
    auto mask = torch::zeros({R, C}, torch::kBool);
    auto top = [](const torch::Tensor& scores, int64_t n) {
        auto out = torch::zeros_like(scores, scores.options().dtype(torch::kBool));
        return out.scatter_(-1, std::get<1>(scores.topk(n, -1, true, false)), true);
    };
    if (full > 0)
        mask.slice(1, 0, full * p.m).copy_(top(rows.slice(1, 0, full * p.m).view({R, full, p.m}), p.n).view({R, full * p.m}));
    if (rest > 0) mask.slice(1, full * p.m, C).copy_(top(rows.slice(1, full * p.m, C), std::min<int64_t>(p.n, rest)));
    if (weight.dim() == 2) return mask;
    return mask.view({weight.size(0), weight.size(2), weight.size(3), weight.size(1)}).permute({0, 3, 1, 2}).contiguous();
}

void TestNmMasks::cpuKernelMatchesTopk() {
    guarded([] {
        auto g = gen(11);
        const std::vector<NmPattern> patterns = {{2, 4}, {1, 4}, {3, 4}, {4, 8}, {1, 8}, {7, 8}, {5, 16}, {3, 7}, {9, 32}};
        int compared = 0;
        for (const auto& p : patterns)
            for (auto shape : {std::vector<int64_t>{13, 37}, std::vector<int64_t>{300, 784}, std::vector<int64_t>{5, 19, 3, 3},
                               std::vector<int64_t>{4, 64, 1, 2}}) {
                auto w = torch::randn(shape, g);
                auto expected = topkReferenceMask(w, p);
                QVERIFY2(torch::equal(nmMask(w, p), expected), qPrintable(QString::fromStdString(p.toString())));
                // Other dtypes and layouts go through the same kernel after a conversion.
                QVERIFY(torch::equal(nmMask(w.to(torch::kDouble), p), expected));
                ++compared;
            }
        // A non-contiguous weight (a transposed view) gives the mask of its values, not its storage.
        auto base = torch::randn({48, 20}, g);
        auto view = base.t();
        QVERIFY(!view.is_contiguous());
        QVERIFY(torch::equal(nmMask(view, {2, 4}), topkReferenceMask(view.contiguous(), {2, 4})));
        QCOMPARE(compared, int(patterns.size()) * 4);
    });
}

void TestNmMasks::cpuKernelBreaksTiesToLowerIndex() {
    guarded([] {
        // Equal magnitudes (signs do not matter): the lower input index wins.
        auto w = torch::tensor({{1.f, -1.f, 1.f, -1.f, 0.f, 3.f, -3.f, 1.f, 2.f, 2.f, 2.f, 2.f}});
        auto mask = nmMask(w, {2, 4});
        auto expected = torch::tensor({{1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0}}).to(torch::kBool);
        QVERIFY(torch::equal(mask, expected));
        // All-zero weights (e.g. a freshly zeroed layer) keep the first N of every group, and for a
        // convolution the order is along `in` at each kernel position.
        auto zeros = torch::zeros({2, 8, 2, 2});
        auto zm = nmMask(zeros, {3, 8});
        QVERIFY(nmValid(zm, 3, 8));
        QVERIFY(zm.slice(1, 0, 3).all().item<bool>());
        QVERIFY(!zm.slice(1, 3, 8).any().item<bool>());
        // Same in the generic path (M = 6) and in a trailing partial group.
        auto z6 = nmMask(torch::zeros({1, 15}), {2, 6});
        auto e6 = torch::tensor({{1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0}}).to(torch::kBool);
        QVERIFY(torch::equal(z6, e6));
    });
}

void TestNmMasks::validityRejectsWrongCounts() {
    guarded([] {
        auto mask = nmMask(torch::randn({4, 16}, gen(7)), {2, 4});
        QVERIFY(nmValid(mask, 2, 4));
        auto more = mask.clone();
        more[1][0] = true;
        more[1][1] = true;
        more[1][2] = true;
        QVERIFY(!nmValid(more, 2, 4));
        auto fewer = mask.clone();
        fewer[2].zero_();
        QVERIFY(!nmValid(fewer, 2, 4));
        QVERIFY(!nmValid(mask, 1, 4));
        QVERIFY(!nmValid(torch::ones({4, 16}, torch::kBool), 2, 4));
        // Dense-in-groups is not N:M, but an N:M mask is also valid when read as conv [o, i, 1, 1].
        QVERIFY(nmValid(mask.view({4, 16, 1, 1}), 2, 4));
    });
}

void TestNmMasks::anyNBelowM() {
    guarded([] {
        auto w = torch::randn({6, 48}, gen(8));
        for (int m : {2, 3, 4, 6, 8, 12, 16})
            for (int n = 1; n < m; ++n) {
                auto mask = nmMask(w, {n, m});
                QVERIFY(nmValid(mask, n, m));
                QCOMPARE(mask.sum().item<int64_t>(), int64_t{6} * 48 / m * n);
            }
    });
}

void TestNmMasks::binomialsMatchExactValues() {
    QCOMPARE(log10Binomial(5, 0), 0.0);
    QCOMPARE(log10Binomial(5, 5), 0.0);
    QVERIFY(std::fabs(log10Binomial(4, 2) - std::log10(6.0)) < 1e-12);
    QVERIFY(std::fabs(log10Binomial(52, 5) - std::log10(2598960.0)) < 1e-12);
    QVERIFY(std::fabs(log10Binomial(64, 32) - std::log10(1832624140942590534.0)) < 1e-12);
    // Large: C(10^6, 10^5) against the sum of logs.
    double s = 0;
    for (int64_t i = 1; i <= 100000; ++i) s += std::log10(static_cast<double>(1000000 - 100000 + i) / static_cast<double>(i));
    QVERIFY(std::fabs(log10Binomial(1000000, 100000) - s) < 1e-6 * s);
}

void TestNmMasks::tileCountsExact() {
    guarded([] {
        QCOMPARE(transposableTileCount(4, 2).toU64(), uint64_t{90});
        QCOMPARE(transposableTileCount(8, 4).toString(), std::string("116963796250"));
        QCOMPARE(transposableTileCount(8, 4).toU64(), uint64_t{116963796250ull});
        QCOMPARE(transposableTileCount(4, 1).toU64(), uint64_t{24});
        QCOMPARE(transposableTileCount(8, 1).toU64(), uint64_t{40320});
        QVERIFY(std::fabs(log10TransposableTileCount(8, 4) - std::log10(116963796250.0)) < 1e-12);
        // 16 x 16 with N = 2 exceeds 2^64; counting zeros instead of ones must give the same number.
        QVERIFY(transposableTileCount(16, 2) == transposableTileCount(16, 14));
        QVERIFY(!transposableTileCount(16, 2).fitsU64());
    });
}

void TestNmMasks::tileCountsMatchBruteForce() {
    guarded([] {
        for (int m = 1; m <= 5; ++m)
            for (int n = 0; n <= m; ++n) QCOMPARE(transposableTileCount(m, n).toU64(), bruteForceK(m, n));
        QCOMPARE(transposableTileCount(6, 2).toU64(), bruteForceK(6, 2));
        QCOMPARE(transposableTileCount(6, 3).toU64(), bruteForceK(6, 3));
    });
}

void TestNmMasks::bigUintDecimal() {
    BigUint x(1);
    for (int i = 0; i < 40; ++i) x *= 10;
    QCOMPARE(x.toString(), std::string("1") + std::string(40, '0'));
    QVERIFY(std::fabs(x.log10() - 40.0) < 1e-12);
    BigUint y(~uint64_t{0});
    y += BigUint(1);
    QCOMPARE(y.toString(), std::string("18446744073709551616"));
    QCOMPARE(BigUint().toString(), std::string("0"));
}

void TestNmMasks::diversityHandChecked() {
    guarded([] {
        // 8 weights in a row, 2:4: 6 * 6 masks.
        QVERIFY(std::fabs(log10MdNm(1, 8, {2, 4}) - 2 * std::log10(6.0)) < 1e-12);
        // Trailing group of 3 with 2:4 keeps 2: C(3, 2) = 3 more.
        QVERIFY(std::fabs(log10MdNm(1, 11, {2, 4}) - std::log10(6.0 * 6.0 * 3.0)) < 1e-12);
        QVERIFY(std::fabs(log10MdUnstructured(10, 3) - std::log10(120.0)) < 1e-12);
        QVERIFY(std::fabs(log10MdConstantFanIn(3, 5, 2) - 3.0) < 1e-12);
        // An 8 x 8 Linear layer with 2:4-T: four 4 x 4 tiles, 90 each.
        QVERIFY(std::fabs(log10MdTransposable(1, 8, 8, {2, 4}) - 4 * std::log10(90.0)) < 1e-12);
        // Conv [4, 4, 3, 3]: one tile per kernel position.
        QVERIFY(std::fabs(log10MdTransposable(9, 4, 4, {2, 4}) - 9 * std::log10(90.0)) < 1e-12);
        auto d = layerDiversity({"conv", {8, 4, 3, 3}, 0.5}, {2, 4});
        QCOMPARE(d.weights, int64_t{288});
        QVERIFY(std::fabs(d.nm - 72 * std::log10(6.0)) < 1e-9);            // 8*3*3 rows, one group
        QVERIFY(std::fabs(d.constantFanIn - 8 * log10Binomial(36, 18)) < 1e-9);
        QVERIFY(std::fabs(d.unstructured - log10Binomial(288, 144)) < 1e-9);
        QVERIFY(std::fabs(d.transposable - 18 * std::log10(90.0)) < 1e-9);   // 9 planes x 2 tiles
    });
}

void TestNmMasks::diversityOrderedByStructure() {
    guarded([] {
        // Nested structures at the same density: transposable N:M within N:M within constant fan-in
        // within unstructured, so their counts are ordered.
        for (auto p : {NmPattern{2, 4}, NmPattern{4, 8}, NmPattern{1, 4}}) {
            auto d = layerDiversity({"fc", {64, 128}, p.density()}, p);
            QVERIFY(d.transposable < d.nm);
            QVERIFY(d.nm < d.constantFanIn);
            QVERIFY(d.constantFanIn < d.unstructured);
        }
    });
}

void TestNmMasks::modelDiversitySumsLayers() {
    guarded([] {
        std::vector<LayerDiversityInput> layers{{"fc1", {300, 784}, 0.1}, {"fc2", {100, 300}, 0.1}, {"fc3", {10, 100}, 0.5}};
        auto md = modelDiversity(layers, {2, 4});
        QCOMPARE(md.layers.size(), size_t{3});
        double nm = 0, un = 0, tr = 0;
        for (const auto& l : md.layers) {
            nm += l.nm;
            un += l.unstructured;
            tr += l.transposable;
        }
        QVERIFY(std::fabs(md.total.nm - nm) < 1e-6);
        QVERIFY(std::fabs(md.total.unstructured - un) < 1e-6);
        QVERIFY(std::fabs(md.total.transposable - tr) < 1e-6);
        QCOMPARE(md.total.weights, int64_t{300 * 784 + 100 * 300 + 1000});
        // fc1 with 2:4: 300 rows x 196 groups of C(4, 2).
        QVERIFY(std::fabs(md.layers[0].nm - 300.0 * 196 * std::log10(6.0)) < 1e-6);
    });
}

void TestNmMasks::initVarianceSideBySide() {
    guarded([] {
        InitVarianceOptions o;
        o.out = 64;
        o.in = 128;
        o.sparsity = 0.9;
        o.samples = 300;
        o.inputs = 8;
        o.seed = 11;
        auto r = initOutputNormVariance(o);
        QCOMPARE(r.nm.toString(), std::string("1:8")); // density 0.1: 1:4 is 0.15 off, 1:8 within 0.05
        QCOMPARE(r.dense.density, 1.0);
        QVERIFY(std::fabs(r.constantFanIn.density - 13.0 / 128) < 1e-12);
        QVERIFY(std::fabs(r.unstructured.density - 13.0 / 128) < 1e-12);
        QVERIFY(std::fabs(r.nmMask.density - 1.0 / 8) < 1e-12);
        // E||y||^2 = 2 * out for every structure (each neuron's pre-activation has variance 2).
        for (const auto* s : {&r.dense, &r.unstructured, &r.constantFanIn, &r.nmMask}) {
            QVERIFY(s->variance > 0);
            QVERIFY(std::fabs(s->mean - std::sqrt(2.0 * o.out)) < 0.1 * std::sqrt(2.0 * o.out));
        }
        // The paper's point: sparse layers vary more than dense, and constant fan-in no more than
        // unstructured (rows with few connections make unstructured norms heavier-tailed).
        QVERIFY(r.dense.variance < r.constantFanIn.variance);
        QVERIFY(r.constantFanIn.variance < r.unstructured.variance);
        auto again = initOutputNormVariance(o);
        QCOMPARE(again.unstructured.variance, r.unstructured.variance);
        o.nm = {2, 16};
        QCOMPARE(initOutputNormVariance(o).nm.toString(), std::string("2:16"));
    });
}

QTEST_GUILESS_MAIN(TestNmMasks)
#include "test_nm_masks.moc"
