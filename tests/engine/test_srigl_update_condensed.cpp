// SRigL on the condensed form with a streamed gradient against the dense reference rule
// (sriglUpdateCpu): same masks, k, ablation and counts on random layers, with ties, ablated rows,
// every block size; the old-slot map that carries values and optimizer state; bounded gradient reads.
#include <torch/torch.h>

#include <QtTest>

#include "engine/models/condensed_weights.hpp"
#include "engine/sparsity/mask_update.hpp"
#include "engine/sparsity/srigl_update_condensed.hpp"
#include "tests/support/guarded.hpp"

#include <string>

using namespace srigl;

namespace {

struct Case {
    int64_t out = 40, fanIn = 50, k = 6, ablatedRows = 0;
    double drop = 0.3, gammaSal = 0.3;
    bool allowAblation = true;
    int64_t blockRows = 1 << 20;
    bool ties = false; // weights and gradients rounded so that many values are equal
    uint64_t seed = 1;
    int64_t growthCandidates = -1;
    float sampleScale = 1.0f; // scales the gradient's one-row reads (the salience guess's sample; blockRows >= 2)
    bool constantGrad = false; // every |grad| equal: all of them fall in one window
};

// How the gradient was read: rows in all, whole passes, rows of the guess's sample.
struct Reads {
    int64_t rows = 0, passes = 0, sampled = 0;
};

struct Layer {
    torch::Tensor weight, mask, grad;
    int64_t budget = 0;
};

Layer makeLayer(const Case& c) {
    torch::manual_seed(c.seed);
    Layer l;
    l.mask = torch::zeros({c.out, c.fanIn}, torch::kBool);
    for (int64_t r = c.ablatedRows; r < c.out; ++r) l.mask[r].index_fill_(0, torch::randperm(c.fanIn).slice(0, 0, c.k), true);
    l.weight = torch::randn({c.out, c.fanIn});
    l.grad = torch::randn({c.out, c.fanIn});
    if (c.ties) {
        l.weight = (l.weight * 2).round() / 2;
        l.grad = (l.grad * 2).round() / 2;
    }
    if (c.constantGrad) l.grad = torch::full({c.out, c.fanIn}, 0.5f);
    l.weight *= l.mask;
    l.budget = c.k * (c.out - c.ablatedRows);
    return l;
}

// Runs both rules on one layer and fails with a message naming the first difference.
Reads compareOn(const Case& c) {
    const Layer l = makeLayer(c);
    SriglParams p;
    p.budget = l.budget;
    p.gammaSal = c.gammaSal;
    p.allowAblation = c.allowAblation;
    const MaskUpdateResult dense = sriglUpdateCpu(l.weight, l.mask, l.grad, c.drop, p);

    const CondensedWeights before = condenseLayer(l.weight, l.mask);
    int64_t rowsRead = 0;
    GradientRows rows = [&](int64_t r0, int64_t r1, float* out) {
        rowsRead += r1 - r0;
        torch::from_blob(out, {r1 - r0, c.fanIn}).copy_(l.grad.slice(0, r0, r1) * (r1 - r0 == 1 ? c.sampleScale : 1.0f));
    };
    const CondensedMaskUpdate u = sriglUpdateCondensed(before.values, before.indices, before.alive.squeeze(1) > 0,
                                                       c.fanIn, rows, c.drop, p, c.blockRows, c.growthCandidates);
    const std::string where = "out " + std::to_string(c.out) + " fan-in " + std::to_string(c.fanIn) + " k " +
                              std::to_string(c.k) + " block " + std::to_string(c.blockRows) + " seed " +
                              std::to_string(c.seed);
    auto fail = [&](const std::string& what) { throw std::runtime_error(what + " (" + where + ")"); };

    auto mask = torch::zeros({c.out, c.fanIn}, torch::kBool)
                    .scatter_(1, u.indices, u.alive.unsqueeze(1).expand({c.out, u.k}));
    if (!torch::equal(mask, dense.mask)) fail("masks differ in " + std::to_string((mask != dense.mask).sum().item<int64_t>()) + " entries");
    if (u.k != dense.k || u.ablated != dense.ablated || u.active != dense.active) fail("k or ablation differ");
    // Each row's inputs ascend (the condensed layout's invariant; old slots are found by walking them).
    if (u.k > 1 && !(u.indices.slice(1, 1) > u.indices.slice(1, 0, -1)).all().item<bool>())
        fail("a row's inputs are not strictly ascending");
    if (u.pruned != dense.pruned || u.regrown != dense.regrown) fail("pruned or regrown differ");
    if (rowsRead != u.gradientPasses * c.out + u.sampledRows) fail("the reported reads are not the rows read");
    if (u.gradientPasses > 4) fail("the gradient was read more than four times");
    // The guess's sampled rows aside (rows read above), a layer of one block is computed once.
    if (c.blockRows >= c.out && u.gradientPasses > 1) fail("a layer of one block was computed more than once");
    // Every new connection's old slot holds the same input; a connection without one was not kept.
    const auto oldIdx = before.indices.to(torch::kLong);
    const auto oldAlive = before.alive.squeeze(1) > 0;
    for (int64_t r = 0; r < c.out; ++r) {
        if (!u.alive[r].item<bool>()) {
            if ((u.source[r] >= 0).any().item<bool>()) fail("an ablated row carries old weights");
            continue;
        }
        for (int64_t s = 0; s < u.k; ++s) {
            const int64_t src = u.source[r][s].item<int64_t>(), j = u.indices[r][s].item<int64_t>();
            const bool wasKept = oldAlive[r].item<bool>() && l.mask[r][j].item<bool>();
            if (src >= 0 && oldIdx[r][src].item<int64_t>() != j) fail("an old slot points at another input");
            if ((src >= 0) != wasKept) fail("a kept connection lost its old slot, or a new one got one");
        }
    }
    return {rowsRead, u.gradientPasses, u.sampledRows};
}

} // namespace

class TestSriglUpdateCondensed : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void matchesDenseRule();
    void matchesDenseRuleWithTies();
    void matchesDenseRuleInEveryBlockSize();
    void matchesDenseRuleOnTwoThreads();
    void ablatedRowsComeBackOrStay();
    void withoutAblationOnlyGrowthReadsTheGradient();
    void onePassWhenTheGuessHolds();
    void missedGuessFallsBackExactly();
    void crowdedWindowFallsBackExactly();
};

void TestSriglUpdateCondensed::matchesDenseRule() {
    guarded([] {
        for (uint64_t seed = 1; seed <= 12; ++seed) {
            Case c;
            c.seed = seed;
            c.out = 20 + static_cast<int64_t>(seed) * 7;
            c.fanIn = 10 + static_cast<int64_t>(seed) * 13;
            c.k = 1 + static_cast<int64_t>(seed % 5);
            c.drop = 0.05 * static_cast<double>(seed % 7);
            c.gammaSal = seed % 3 == 0 ? 0.9 : 0.3;
            compareOn(c);
        }
    });
}

void TestSriglUpdateCondensed::matchesDenseRuleWithTies() {
    guarded([] {
        for (uint64_t seed = 1; seed <= 8; ++seed) {
            Case c;
            c.seed = seed;
            c.ties = true;
            c.gammaSal = 0.9;
            c.blockRows = 1 + static_cast<int64_t>(seed);
            compareOn(c);
        }
    });
}

void TestSriglUpdateCondensed::matchesDenseRuleInEveryBlockSize() {
    guarded([] {
        for (int64_t block : {1, 2, 3, 7, 39, 40, 41}) {
            Case c;
            c.blockRows = block;
            c.gammaSal = 0.6;
            compareOn(c);
        }
    });
}

// The passes split rows over the worker pool (parts joined in row order): the same masks whichever
// thread took which rows. Test processes run LibTorch's default of one intra-op thread.
void TestSriglUpdateCondensed::matchesDenseRuleOnTwoThreads() {
    const int before = at::get_num_threads();
    at::set_num_threads(2);
    guarded([] {
        for (uint64_t seed = 1; seed <= 6; ++seed) {
            Case c;
            c.seed = seed;
            c.out = 150 + static_cast<int64_t>(seed) * 11;
            c.fanIn = 120 + static_cast<int64_t>(seed) * 9;
            c.k = 3 + static_cast<int64_t>(seed);
            c.ties = seed % 2 == 0;
            c.gammaSal = seed % 3 == 0 ? 0.9 : 0.3;
            c.blockRows = seed % 3 == 1 ? 1 << 20 : 17 * static_cast<int64_t>(seed);
            compareOn(c);
        }
    });
    at::set_num_threads(before);
}

void TestSriglUpdateCondensed::ablatedRowsComeBackOrStay() {
    guarded([] {
        for (uint64_t seed = 1; seed <= 6; ++seed) {
            Case c;
            c.seed = seed;
            c.ablatedRows = 5 + static_cast<int64_t>(seed);
            c.gammaSal = seed % 2 ? 0.9 : 0.0;
            c.blockRows = seed % 2 ? 4 : 1 << 20;
            compareOn(c);
        }
        Case k1; // k = 1, the sparsest a SRigL layer gets
        k1.k = 1;
        k1.gammaSal = 0.9;
        compareOn(k1);
        Case full; // k = fan-in: nothing to grow into
        full.k = full.fanIn;
        full.drop = 0.3;
        full.allowAblation = false;
        compareOn(full);
    });
}

void TestSriglUpdateCondensed::withoutAblationOnlyGrowthReadsTheGradient() {
    guarded([] {
        Case c;
        c.allowAblation = false;
        c.blockRows = 8;
        compareOn(c);
        // One pass (growth) over 40 rows in blocks of 8: 40 rows read, no more.
        const Layer l = makeLayer(c);
        const CondensedWeights w = condenseLayer(l.weight, l.mask);
        int64_t rowsRead = 0;
        GradientRows rows = [&](int64_t r0, int64_t r1, float* out) {
            rowsRead += r1 - r0;
            torch::from_blob(out, {r1 - r0, c.fanIn}).copy_(l.grad.slice(0, r0, r1));
        };
        SriglParams p;
        p.budget = l.budget;
        p.allowAblation = false;
        sriglUpdateCondensed(w.values, w.indices, w.alive.squeeze(1) > 0, c.fanIn, rows, 0.3, p, 8);
        QCOMPARE(rowsRead, c.out);
    });
}

// With ablation and a gradient in several blocks, one pass counts the salient connections against
// the guessed window and keeps each row's largest |grad|, and growth chooses from them: one pass
// (plus the sample) instead of three, the same masks (ties included). With fewer candidates than
// the new k, growth reads the gradient a second time and still agrees.
void TestSriglUpdateCondensed::onePassWhenTheGuessHolds() {
    guarded([] {
        for (uint64_t seed = 1; seed <= 6; ++seed) {
            Case c;
            c.seed = seed;
            c.ties = seed % 2 == 0;
            c.gammaSal = seed % 3 == 0 ? 0.9 : 0.3;
            c.ablatedRows = seed % 3 == 0 ? 6 : 0;
            c.blockRows = 1 + static_cast<int64_t>(seed % 4) * 5;
            Reads r = compareOn(c);
            QCOMPARE(r.passes, int64_t{1});
            QVERIFY(r.sampled > 0 && r.sampled < c.out);
            c.growthCandidates = c.k; // exactly k_old: a row can keep them all and still need more
            compareOn(c);
            c.growthCandidates = 1; // fewer than k: growth must read the gradient again
            QCOMPARE(compareOn(c).passes, int64_t{2});
        }
    });
}

// A sample that misleads the guess (its rows read 1000x or 1/1000x too large), so that the layer's
// threshold lies below or above the window: the histogram pass and a second counting pass give the
// exact answer, and growth still uses the first pass's candidates.
void TestSriglUpdateCondensed::missedGuessFallsBackExactly() {
    guarded([] {
        for (float scale : {1000.0f, 0.001f}) {
            for (uint64_t seed = 1; seed <= 4; ++seed) {
                Case c;
                c.seed = seed;
                c.ties = seed % 2 == 0;
                c.gammaSal = 0.9;
                c.blockRows = 2 + static_cast<int64_t>(seed) * 3;
                c.sampleScale = scale;
                QCOMPARE(compareOn(c).passes, int64_t{3});
                c.sampleScale = 1.0f;
                QCOMPARE(compareOn(c).passes, int64_t{1});
            }
        }
    });
}

// Every |grad| equal: the guessed window holds the whole layer, more entries than it may hold, so it
// is given up and the bin's pass decides the ties by index, as the dense rule does.
void TestSriglUpdateCondensed::crowdedWindowFallsBackExactly() {
    guarded([] {
        Case c;
        c.out = 300;
        c.fanIn = 300;
        c.k = 6;
        c.gammaSal = 0.9;
        c.blockRows = 50;
        c.constantGrad = true;
        QCOMPARE(compareOn(c).passes, int64_t{3});
    });
}

QTEST_GUILESS_MAIN(TestSriglUpdateCondensed)
#include "test_srigl_update_condensed.moc"
