// The mask rules on crafted tensors: SRigL invariants, ablation, growth, truncation, safety;
// RigL and SET keep nnz; SRigL agrees with a literal, loop-based reading of the spec.
#include <torch/torch.h>

#include <QtTest>

#include "engine/models/sparse_layer.hpp"
#include "engine/sparsity/mask_update.hpp"
#include "engine/sparsity/select_largest.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <numeric>

using namespace srigl;

namespace {

torch::Generator gen(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

std::vector<int64_t> rowCounts(const torch::Tensor& mask) {
    auto c = mask.sum(1).to(torch::kLong).contiguous();
    return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

struct Layer {
    torch::Tensor w, m, g;
};

// A random layer with exactly k connections per row, weights only where the mask is set.
Layer randomLayer(int64_t out, int64_t fanIn, int64_t k, uint64_t seed) {
    auto g0 = gen(seed);
    Layer l;
    l.m = constantFanInMask(out, fanIn, k, g0);
    l.w = torch::randn({out, fanIn}, g0, torch::kFloat) * l.m;
    l.g = torch::randn({out, fanIn}, g0, torch::kFloat);
    return l;
}

// SRigL exactly as docs/algorithms.md words it, with loops and sorts (slow, obvious).
torch::Tensor referenceSrigl(const torch::Tensor& W, const torch::Tensor& M, const torch::Tensor& G, double f,
                             int64_t B, double gamma, bool allowAblation) {
    const int64_t out = W.size(0), F = W.size(1);
    auto w = W.contiguous();
    auto m = M.contiguous();
    auto g = G.contiguous();
    auto at = [&](const torch::Tensor& t, int64_t r, int64_t c) { return t[r][c].item<float>(); };
    auto on = [&](int64_t r, int64_t c) { return m[r][c].item<bool>(); };
    std::vector<std::pair<int64_t, int64_t>> active, all;
    for (int64_t r = 0; r < out; ++r)
        for (int64_t c = 0; c < F; ++c) {
            all.push_back({r, c});
            if (on(r, c)) active.push_back({r, c});
        }
    const int64_t nnz = static_cast<int64_t>(active.size());
    const int64_t nPrune = static_cast<int64_t>(std::floor(nnz * f));
    const int64_t nKeep = nnz - nPrune;
    auto byW = [&](auto a, auto b) { return std::fabs(at(w, a.first, a.second)) > std::fabs(at(w, b.first, b.second)); };
    auto byG = [&](auto a, auto b) { return std::fabs(at(g, a.first, a.second)) > std::fabs(at(g, b.first, b.second)); };

    std::vector<bool> ablated(out, false);
    if (allowAblation && gamma > 0) {
        std::vector<std::vector<bool>> salient(out, std::vector<bool>(F, false));
        auto sw = active;
        std::sort(sw.begin(), sw.end(), byW);
        for (int64_t i = 0; i < nKeep; ++i) salient[sw[i].first][sw[i].second] = true;
        auto sg = all;
        std::sort(sg.begin(), sg.end(), byG);
        for (int64_t i = 0; i < nPrune; ++i) salient[sg[i].first][sg[i].second] = true;
        std::vector<int64_t> counts(out, 0);
        for (int64_t r = 0; r < out; ++r) counts[r] = std::count(salient[r].begin(), salient[r].end(), true);
        int64_t thr = std::max<int64_t>(1, static_cast<int64_t>(gamma * (B / out)));
        int64_t minActive = 1;
        while (minActive < out && B / minActive > F) ++minActive;
        auto survivors = [&](int64_t t) { return std::count_if(counts.begin(), counts.end(), [&](int64_t c) { return c >= t; }); };
        while (thr > 0 && survivors(thr) < minActive) --thr;
        for (int64_t r = 0; r < out; ++r) ablated[r] = counts[r] < thr;
    }
    const int64_t nAbl = std::count(ablated.begin(), ablated.end(), true);
    const int64_t k = std::clamp<int64_t>(B / (out - nAbl), 1, F);

    std::vector<std::vector<bool>> keep(out, std::vector<bool>(F, false));
    std::vector<std::pair<int64_t, int64_t>> eligible;
    for (auto p : active)
        if (!ablated[p.first]) eligible.push_back(p);
    std::sort(eligible.begin(), eligible.end(), byW);
    for (int64_t i = 0; i < std::min<int64_t>(nKeep, eligible.size()); ++i) keep[eligible[i].first][eligible[i].second] = true;
    auto result = torch::zeros({out, F}, torch::kBool);
    for (int64_t r = 0; r < out; ++r) {
        if (ablated[r]) continue;
        std::vector<std::pair<int64_t, int64_t>> kept, free;
        for (int64_t c = 0; c < F; ++c) (keep[r][c] ? kept : free).push_back({r, c});
        std::sort(kept.begin(), kept.end(), byW);
        if (static_cast<int64_t>(kept.size()) > k) kept.resize(k);
        std::sort(free.begin(), free.end(), byG);
        // Positions cut back from `kept` are free for growth again.
        for (int64_t c = 0; c < F; ++c)
            if (keep[r][c] && std::find(kept.begin(), kept.end(), std::make_pair(r, c)) == kept.end())
                free.push_back({r, c});
        std::sort(free.begin(), free.end(), byG);
        for (auto p : kept) result[p.first][p.second] = true;
        const int64_t need = k - static_cast<int64_t>(kept.size());
        for (int64_t i = 0; i < need; ++i) result[free[i].first][free[i].second] = true;
    }
    return result;
}

} // namespace

class TestMaskUpdate : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initialMaskHasExactFanIn();
    void initialIndicesAreUniformWithoutReplacement();
    void unstructuredInitialMaskHasBudget();
    void sriglKeepsExactFanInWithoutAblation();
    void sriglAblatesWeakNeuronsAndZeroesTheirRows();
    void sriglBudgetKeptAfterAblation();
    void sriglGrowsByLargestGradient();
    void sriglTruncatesByMagnitude();
    void sriglNeverAblatesWhenNotAllowed();
    void sriglRevivesAblatedNeuron();
    void sriglKeepsFanInAtMostDenseFanIn();
    void sriglGammaZeroNeverAblates();
    void sriglMatchesLiteralSpec();
    void grownWeightsZeroAndKeptUnchanged();
    void riglKeepsNnzAndGrowsLargestGradients();
    void setKeepsNnzAndIsDeterministic();
    void dropFractionZeroChangesNothing();
    void cpuPathMatchesTensorOps();
    void selectLargestMatchesSort();
    void selectLargestInPartsMatchesSort();
};

void TestMaskUpdate::initialMaskHasExactFanIn() {
    auto g = gen(1);
    auto m = constantFanInMask(37, 53, 7, g);
    for (auto c : rowCounts(m)) QCOMPARE(c, int64_t{7});
    auto g2 = gen(1);
    QVERIFY(torch::equal(m, constantFanInMask(37, 53, 7, g2)));
}

// The initial constant fan-in indices come from k draws per row (no score per input): every row
// holds k distinct ascending inputs, k = fan_in keeps all, and every input is picked about equally
// often (a biased sampler would favour the last inputs, which Floyd's algorithm takes on a collision).
void TestMaskUpdate::initialIndicesAreUniformWithoutReplacement() {
    auto g = gen(3);
    const int64_t out = 4000, fanIn = 50, k = 10;
    auto idx = constantFanInIndices(out, fanIn, k, g);
    QCOMPARE(idx.sizes().vec(), (std::vector<int64_t>{out, k}));
    QVERIFY((idx.slice(1, 1) > idx.slice(1, 0, -1)).all().item<bool>());
    QVERIFY(idx.min().item<int64_t>() >= 0 && idx.max().item<int64_t>() < fanIn);
    // Each input is kept by out * k / fan_in = 800 rows on average (binomial sd ~ 25): allow 6 sd.
    auto counts = torch::bincount(idx.flatten(), {}, fanIn);
    QVERIFY2((counts - 800).abs().max().item<int64_t>() < 150, "an input is picked far more or less often than k / fan_in");
    auto g2 = gen(3);
    QVERIFY(torch::equal(idx, constantFanInIndices(out, fanIn, k, g2)));
    auto all = constantFanInIndices(3, 7, 7, g);
    QVERIFY(torch::equal(all, torch::arange(7).repeat({3, 1})));
    QCOMPARE(constantFanInIndices(3, 7, 0, g).numel(), int64_t{0});
    QCOMPARE(constantFanInIndices(3, 7, 9, g).size(1), int64_t{7}); // k clamps to fan_in
}

void TestMaskUpdate::unstructuredInitialMaskHasBudget() {
    auto g = gen(2);
    auto m = unstructuredMask(30, 40, 123, g);
    QCOMPARE(m.sum().item<int64_t>(), int64_t{123});
}

void TestMaskUpdate::sriglKeepsExactFanInWithoutAblation() {
    for (uint64_t seed = 0; seed < 5; ++seed) {
        Layer l = randomLayer(24, 40, 6, seed);
        SriglParams p{24 * 6, 0.0, true, {}};
        auto r = sriglUpdate(l.w, l.m, l.g, 0.3, p);
        QCOMPARE(r.k, int64_t{6});
        QCOMPARE(r.ablated, int64_t{0});
        for (auto c : rowCounts(r.mask)) QCOMPARE(c, int64_t{6});
        QVERIFY(r.pruned > 0);
        QCOMPARE(r.pruned, r.regrown);
    }
}

void TestMaskUpdate::sriglAblatesWeakNeuronsAndZeroesTheirRows() {
    Layer l = randomLayer(10, 20, 4, 7);
    // Neurons 2 and 5: tiny weights and tiny gradients -> nothing salient -> ablated.
    for (int r : {2, 5}) {
        l.w[r].mul_(1e-4);
        l.g[r].mul_(1e-4);
    }
    SriglParams p{40, 0.3, true, {}};
    auto r = sriglUpdate(l.w, l.m, l.g, 0.3, p);
    QCOMPARE(r.ablated, int64_t{2});
    QCOMPARE(r.mask[2].sum().item<int64_t>(), int64_t{0});
    QCOMPARE(r.mask[5].sum().item<int64_t>(), int64_t{0});
    QCOMPARE(r.k, int64_t{40 / 8});
    for (int64_t row = 0; row < 10; ++row)
        if (row != 2 && row != 5) QCOMPARE(r.mask[row].sum().item<int64_t>(), r.k);
}

void TestMaskUpdate::sriglBudgetKeptAfterAblation() {
    for (uint64_t seed = 10; seed < 20; ++seed) {
        Layer l = randomLayer(16, 25, 5, seed);
        l.w.slice(0, 0, 4).mul_(1e-3);
        l.g.slice(0, 0, 4).mul_(1e-3);
        const int64_t B = 16 * 5 + 7; // a budget that does not divide evenly
        auto r = sriglUpdate(l.w, l.m, l.g, 0.25, SriglParams{B, 0.5, true, {}});
        const int64_t nnz = r.mask.sum().item<int64_t>();
        QCOMPARE(nnz, r.k * r.active);
        QVERIFY(nnz <= B);
        QCOMPARE(r.k, std::min<int64_t>(25, B / r.active));
    }
}

void TestMaskUpdate::sriglGrowsByLargestGradient() {
    // One neuron, fan-in 10, k = 3 at positions 0,1,2. Position 1 has the smallest |W| and is
    // dropped (f = 1/3 -> one drop); the largest |grad| among the rest is at 7.
    auto m = torch::zeros({1, 10}, torch::kBool);
    m.slice(1, 0, 3).fill_(true);
    auto w = torch::zeros({1, 10});
    w[0][0] = 1.0f;
    w[0][1] = 0.1f;
    w[0][2] = -2.0f;
    auto g = torch::full({1, 10}, 0.01f);
    g[0][7] = -5.0f;
    g[0][4] = 3.0f;
    auto r = sriglUpdate(w, m, g, 1.0 / 3.0 + 1e-9, SriglParams{3, 0.0, false, {}});
    QVERIFY(r.mask[0][0].item<bool>());
    QVERIFY(r.mask[0][2].item<bool>());
    QVERIFY(r.mask[0][7].item<bool>());
    QVERIFY(!r.mask[0][1].item<bool>());
    QVERIFY(!r.mask[0][4].item<bool>());
    QCOMPARE(r.pruned, int64_t{1});
    QCOMPARE(r.regrown, int64_t{1});
}

void TestMaskUpdate::sriglTruncatesByMagnitude() {
    // Two neurons, k = 2. Layer-wide top |W| keeps three entries of neuron 0 (after neuron 1 lost
    // its budget share to ablation-free pruning): neuron 0 must be cut to its two largest |W|,
    // not to its first two indices.
    auto m = torch::zeros({2, 6}, torch::kBool);
    auto w = torch::zeros({2, 6});
    // neuron 0 active at 0,1 (k = 2); neuron 1 at 0,1 with tiny weights.
    m[0][0] = m[0][1] = m[1][0] = m[1][1] = true;
    w[0][0] = 0.5f;
    w[0][1] = 3.0f;
    w[1][0] = 1e-3f;
    w[1][1] = 2e-3f;
    // Now give neuron 0 a third active entry (an over-full row, as after a budget change).
    m[0][2] = true;
    w[0][2] = 2.0f;
    auto g = torch::zeros({2, 6});
    g[1][4] = 1.0f;
    g[1][5] = 0.5f;
    auto r = sriglUpdate(w, m, g, 0.0, SriglParams{4, 0.0, false, {}});
    QCOMPARE(r.k, int64_t{2});
    QVERIFY(r.mask[0][1].item<bool>());
    QVERIFY(r.mask[0][2].item<bool>());
    QVERIFY(!r.mask[0][0].item<bool>()); // the smallest of the three, although first by index
    QCOMPARE(r.mask[1].sum().item<int64_t>(), int64_t{2});
}

void TestMaskUpdate::sriglNeverAblatesWhenNotAllowed() {
    Layer l = randomLayer(10, 20, 4, 7);
    l.w[3].mul_(1e-5);
    l.g[3].mul_(1e-5);
    auto r = sriglUpdate(l.w, l.m, l.g, 0.3, SriglParams{40, 0.9, false, {}});
    QCOMPARE(r.ablated, int64_t{0});
    for (auto c : rowCounts(r.mask)) QCOMPARE(c, int64_t{4});
}

void TestMaskUpdate::sriglRevivesAblatedNeuron() {
    Layer l = randomLayer(8, 20, 4, 3);
    // Neuron 6 was ablated (empty row) but now has the largest gradients of the layer.
    l.m[6].fill_(false);
    l.w[6].zero_();
    l.g[6].mul_(100.0);
    const int64_t B = 32;
    auto r = sriglUpdate(l.w, l.m, l.g, 0.3, SriglParams{B, 0.3, true, {}});
    QVERIFY(r.mask[6].sum().item<int64_t>() > 0);
    QCOMPARE(r.mask[6].sum().item<int64_t>(), r.k);
}

void TestMaskUpdate::sriglKeepsFanInAtMostDenseFanIn() {
    // Dense fan-in 5 with a budget of 16 over 4 neurons (k0 = 4): ablating 3 would need k = 16.
    Layer l = randomLayer(4, 5, 4, 9);
    for (int r : {1, 2, 3}) {
        l.w[r].mul_(1e-5);
        l.g[r].mul_(1e-5);
    }
    auto r = sriglUpdate(l.w, l.m, l.g, 0.3, SriglParams{16, 1.0, true, {}});
    QVERIFY(r.k <= 5);
    QVERIFY(r.active >= sriglMinActive(16, 4, 5));
    QCOMPARE(r.mask.sum().item<int64_t>(), r.k * r.active);
    for (int64_t row = 0; row < 4; ++row) {
        const int64_t c = r.mask[row].sum().item<int64_t>();
        QVERIFY(c == 0 || c == r.k);
    }
}

void TestMaskUpdate::sriglGammaZeroNeverAblates() {
    Layer l = randomLayer(10, 20, 4, 7);
    l.w[2].zero_();
    l.g[2].zero_();
    auto r = sriglUpdate(l.w, l.m, l.g, 0.3, SriglParams{40, 0.0, true, {}});
    QCOMPARE(r.ablated, int64_t{0});
}

void TestMaskUpdate::sriglMatchesLiteralSpec() {
    for (uint64_t seed = 100; seed < 130; ++seed) {
        auto g0 = gen(seed);
        const int64_t out = 3 + seed % 7, fanIn = 4 + seed % 11;
        const int64_t k0 = 1 + seed % std::min<int64_t>(fanIn, 5);
        const int64_t B = out * k0 + seed % 3;
        Layer l = randomLayer(out, fanIn, k0, seed);
        // Make some neurons weak so that ablation happens in part of the cases.
        auto weak = torch::rand({out, 1}, g0) < 0.3;
        l.w = torch::where(weak, l.w * 1e-3, l.w);
        l.g = torch::where(weak, l.g * 1e-3, l.g);
        const double f = 0.1 + 0.05 * static_cast<double>(seed % 8);
        const double gamma = (seed % 4) * 0.3;
        const bool allow = seed % 5 != 0;
        auto r = sriglUpdate(l.w, l.m, l.g, f, SriglParams{B, gamma, allow, {}});
        auto expected = referenceSrigl(l.w, l.m, l.g, f, B, gamma, allow);
        if (!torch::equal(r.mask, expected)) {
            qWarning() << "seed" << seed << "out" << out << "fanIn" << fanIn << "B" << B;
            QFAIL("vectorised SRigL differs from the literal spec");
        }
    }
}

void TestMaskUpdate::grownWeightsZeroAndKeptUnchanged() {
    torch::NoGradGuard noGrad;
    SparseLinear layer(30, 12);
    auto g0 = gen(5);
    layer->setMask(constantFanInMask(12, 30, 5, g0));
    layer->weight.copy_(torch::randn({12, 30}, g0));
    layer->applyMask();
    auto before = layer->weight.clone();
    auto oldMask = layer->mask.clone();
    auto grad = torch::randn({12, 30}, g0);
    auto r = sriglUpdate(layer->weight, layer->mask, grad, 0.3, SriglParams{60, 0.3, true, {}});
    layer->setMask(r.mask);
    layer->applyMask();
    auto grown = r.mask & ~oldMask;
    auto kept = r.mask & oldMask;
    QVERIFY(grown.any().item<bool>());
    QVERIFY(torch::all(layer->weight.masked_select(grown) == 0).item<bool>());
    QVERIFY(torch::equal(layer->weight.masked_select(kept), before.masked_select(kept)));
    QVERIFY(torch::all(layer->weight.masked_select(~r.mask) == 0).item<bool>());
}

void TestMaskUpdate::riglKeepsNnzAndGrowsLargestGradients() {
    auto g0 = gen(11);
    auto m = unstructuredMask(20, 30, 90, g0);
    auto w = torch::randn({20, 30}, g0) * m;
    auto g = torch::rand({20, 30}, g0) * 0.1;
    // Two inactive positions with huge gradients must be grown.
    auto inactive = (~m).nonzero();
    auto p0 = inactive[0], p1 = inactive[5];
    g[p0[0].item<int64_t>()][p0[1].item<int64_t>()] = 10.0f;
    g[p1[0].item<int64_t>()][p1[1].item<int64_t>()] = -9.0f;
    auto r = riglUpdate(w, m, g, 0.2);
    QCOMPARE(r.mask.sum().item<int64_t>(), int64_t{90});
    QCOMPARE(r.pruned, r.regrown);
    QVERIFY(r.pruned <= 18);
    QVERIFY(r.mask[p0[0].item<int64_t>()][p0[1].item<int64_t>()].item<bool>());
    QVERIFY(r.mask[p1[0].item<int64_t>()][p1[1].item<int64_t>()].item<bool>());
    // The 72 largest |W| are all kept.
    auto top = std::get<1>(w.abs().masked_fill(~m, -1).flatten().topk(72));
    QVERIFY(torch::all(r.mask.flatten().index_select(0, top)).item<bool>());
}

void TestMaskUpdate::setKeepsNnzAndIsDeterministic() {
    auto g0 = gen(12);
    auto m = unstructuredMask(20, 30, 90, g0);
    auto w = torch::randn({20, 30}, g0) * m;
    auto ga = gen(99), gb = gen(99), gc = gen(98);
    auto a = setUpdate(w, m, 0.3, ga);
    auto b = setUpdate(w, m, 0.3, gb);
    auto c = setUpdate(w, m, 0.3, gc);
    QCOMPARE(a.mask.sum().item<int64_t>(), int64_t{90});
    QVERIFY(torch::equal(a.mask, b.mask));
    QVERIFY(!torch::equal(a.mask, c.mask));
    QCOMPARE(a.pruned, a.regrown);
    QVERIFY(a.pruned > 0 && a.pruned <= 27);
}

void TestMaskUpdate::dropFractionZeroChangesNothing() {
    Layer l = randomLayer(12, 16, 4, 21);
    auto r = sriglUpdate(l.w, l.m, l.g, 0.0, SriglParams{48, 0.0, true, {}});
    QVERIFY(torch::equal(r.mask, l.m));
    auto rr = riglUpdate(l.w, l.m, l.g, 0.0);
    QVERIFY(torch::equal(rr.mask, l.m));
}

void TestMaskUpdate::cpuPathMatchesTensorOps() {
    // The tensor-ops rule runs on double tensors (not the CPU float fast path), so this compares
    // the two implementations, with and without ablation.
    for (uint64_t seed = 200; seed < 240; ++seed) {
        auto g0 = gen(seed);
        const int64_t out = 5 + seed % 13, fanIn = 6 + seed % 17;
        const int64_t k0 = 1 + seed % std::min<int64_t>(fanIn, 6);
        const int64_t B = out * k0 + seed % 4;
        Layer l = randomLayer(out, fanIn, k0, seed);
        auto weak = torch::rand({out, 1}, g0) < 0.25;
        l.w = torch::where(weak, l.w * 1e-3, l.w);
        l.g = torch::where(weak, l.g * 1e-3, l.g);
        const double f = 0.05 + 0.07 * static_cast<double>(seed % 6);
        const SriglParams p{B, (seed % 3) * 0.4, seed % 4 != 0, {}};
        auto fast = sriglUpdateCpu(l.w, l.m, l.g, f, p);
        auto ref = sriglUpdateTensorOps(l.w.to(torch::kDouble), l.m, l.g.to(torch::kDouble), f, p);
        QVERIFY2(torch::equal(fast.mask, ref.mask), qPrintable(QString("seed %1").arg(seed)));
        QCOMPARE(fast.k, ref.k);
        QCOMPARE(fast.ablated, ref.ablated);
        QCOMPARE(fast.pruned, ref.pruned);
        QCOMPARE(fast.regrown, ref.regrown);
    }
}

void TestMaskUpdate::selectLargestMatchesSort() {
    std::vector<uint32_t> scratch;
    auto g0 = gen(77);
    for (int trial = 0; trial < 50; ++trial) {
        const int64_t count = 1 + trial * 37;
        // Few distinct values (ties), negatives and zeros included.
        auto v = (torch::randint(-3, 4, {count}, g0).to(torch::kFloat) * 0.5).contiguous();
        if (trial % 2) v = torch::randn({count}, g0);
        for (int64_t n : {int64_t{0}, int64_t{1}, count / 3, count - 1, count, count + 5}) {
            std::vector<char> out(static_cast<size_t>(count), 0);
            selectLargest(v.data_ptr<float>(), count, n, reinterpret_cast<bool*>(out.data()), scratch);
            int64_t chosen = 0;
            float minChosen = INFINITY, maxOther = -INFINITY;
            for (int64_t i = 0; i < count; ++i) {
                const float x = v[i].item<float>();
                if (out[static_cast<size_t>(i)]) {
                    ++chosen;
                    minChosen = std::min(minChosen, x);
                } else {
                    maxOther = std::max(maxOther, x);
                }
            }
            QCOMPARE(chosen, std::clamp<int64_t>(n, 0, count));
            if (chosen > 0 && chosen < count) QVERIFY(minChosen >= maxOther);
        }
    }
}

// A layer-wide selection (from 2^18 entries) runs its passes in parts on the worker pool: the same
// choice as a stable sort, ties spread over every part boundary taken in index order.
void TestMaskUpdate::selectLargestInPartsMatchesSort() {
    const int before = at::get_num_threads();
    at::set_num_threads(2);
    std::vector<uint32_t> scratch;
    auto g0 = gen(78);
    const int64_t count = (int64_t{1} << 18) + 4097;
    for (int trial = 0; trial < 4; ++trial) {
        // Few distinct values (ties everywhere), a mix, all equal, and distinct ones.
        torch::Tensor v = trial == 0   ? torch::randint(-3, 4, {count}, g0).to(torch::kFloat) * 0.5
                          : trial == 1 ? torch::where(torch::rand({count}, g0) < 0.5, torch::randn({count}, g0),
                                                      torch::full({count}, 0.25f))
                          : trial == 2 ? torch::full({count}, -1.5f)
                                       : torch::randn({count}, g0);
        v = v.contiguous();
        const float* p = v.data_ptr<float>();
        std::vector<int64_t> order(static_cast<size_t>(count));
        std::iota(order.begin(), order.end(), int64_t{0});
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
        for (int64_t n : {int64_t{1}, count / 1000, count / 3, count / 2 + 7, count - 1}) {
            std::vector<char> out(static_cast<size_t>(count), 0), expected(static_cast<size_t>(count), 0);
            for (int64_t i = 0; i < n; ++i) expected[static_cast<size_t>(order[static_cast<size_t>(i)])] = 1;
            selectLargest(p, count, n, reinterpret_cast<bool*>(out.data()), scratch);
            QVERIFY2(out == expected, qPrintable(QString("trial %1, n %2").arg(trial).arg(n)));
        }
    }
    at::set_num_threads(before);
}

QTEST_GUILESS_MAIN(TestMaskUpdate)
#include "test_mask_update.moc"
