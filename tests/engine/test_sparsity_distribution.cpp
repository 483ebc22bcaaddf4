// Layer densities for a global sparsity: uniform, ERK (with dense fallback), dense first/last,
// budgets (floor), and the total kept = (1 - S) * total invariant.
#include <QtTest>

#include "engine/errors.hpp"
#include "engine/sparsity/sparsity_distribution.hpp"

#include <cmath>
#include <numeric>

using namespace srigl;

namespace {

// A small CNN + classifier: conv layers [out, in, kh, kw] and linear layers [out, in].
std::vector<LayerShape> cnnLayers() {
    return {
        LayerShape{"conv1", {6, 1, 5, 5}},    LayerShape{"conv2", {16, 6, 5, 5}}, LayerShape{"fc1", {120, 400}},
        LayerShape{"fc2", {84, 120}},         LayerShape{"fc3", {10, 84}},
    };
}

std::vector<LayerShape> mlpLayers() {
    return {LayerShape{"fc1", {300, 784}}, LayerShape{"fc2", {100, 300}}, LayerShape{"fc3", {10, 100}}};
}

// Big layers whose ERK densities all stay below 1 at moderate sparsity.
std::vector<LayerShape> wideLayers() {
    return {LayerShape{"a", {1000, 1000}}, LayerShape{"b", {500, 1000}}, LayerShape{"c", {64, 32, 3, 3}},
            LayerShape{"d", {2000, 500}}};
}

double totalWeights(const std::vector<LayerShape>& layers) {
    double t = 0;
    for (const auto& l : layers) t += static_cast<double>(l.numel());
    return t;
}

double keptWeights(const std::vector<LayerShape>& layers, const std::vector<double>& d) {
    double k = 0;
    for (size_t i = 0; i < layers.size(); ++i) k += static_cast<double>(layers[i].numel()) * d[i];
    return k;
}

int64_t keptBudgets(const std::vector<LayerShape>& layers, const std::vector<double>& d) {
    int64_t k = 0;
    for (size_t i = 0; i < layers.size(); ++i) k += layerBudget(layers[i], d[i]);
    return k;
}

double erkScore(const LayerShape& l) {
    double sum = 0;
    for (auto v : l.dims) sum += static_cast<double>(v);
    return sum / static_cast<double>(l.numel());
}

QString describe(const std::vector<double>& d) {
    QStringList parts;
    for (double v : d) parts << QString::number(v, 'g', 10);
    return parts.join(", ");
}

// Checks the total: sum numel * density == (1 - S) * total (exact up to floating error), and the
// integer budgets lose less than one weight per layer to the floor.
void checkTotal(const std::vector<LayerShape>& layers, const std::vector<double>& d, double s) {
    const double total = totalWeights(layers);
    const double target = (1.0 - s) * total;
    const double kept = keptWeights(layers, d);
    QVERIFY2(std::abs(kept - target) <= 1e-6 * total,
             qPrintable(QString("S=%1: kept %2, expected %3; densities %4").arg(s).arg(kept).arg(target).arg(describe(d))));
    const int64_t budgets = keptBudgets(layers, d);
    QVERIFY2(static_cast<double>(budgets) <= target + 1e-6 &&
                 static_cast<double>(budgets) > target - static_cast<double>(layers.size()),
             qPrintable(QString("S=%1: budgets %2, target %3").arg(s).arg(budgets).arg(target)));
    for (double v : d) QVERIFY2(v >= 0.0 && v <= 1.0, qPrintable(describe(d)));
}

} // namespace

class TestSparsityDistribution : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void layerShapeBasics();
    void parseDistributionNames();
    void uniformGivesGlobalSparsity();
    void uniformKeepsTotal();
    void erkKeepsTotal();
    void erkProportionalToScore();
    void erkDenseFallback();
    void erkDenseFallbackCascades();
    void denseFirstAndLast();
    void denseFirstLastUniform();
    void zeroSparsityAllDense();
    void layerBudgetFloors();
};

void TestSparsityDistribution::layerShapeBasics() {
    LayerShape conv{"conv", {16, 6, 5, 5}};
    QCOMPARE(conv.numel(), int64_t{2400});
    QCOMPARE(conv.outFeatures(), int64_t{16});
    QCOMPARE(conv.fanIn(), int64_t{150});
    LayerShape fc{"fc", {10, 84}};
    QCOMPARE(fc.numel(), int64_t{840});
    QCOMPARE(fc.fanIn(), int64_t{84});
}

void TestSparsityDistribution::parseDistributionNames() {
    QVERIFY(parseDistribution("uniform") == Distribution::Uniform);
    QVERIFY(parseDistribution("erk") == Distribution::Erk);
    bool thrown = false;
    try {
        parseDistribution("ERK-ish");
    } catch (const ConfigError& e) {
        thrown = true;
        QCOMPARE(QString::fromStdString(e.key()), QString("distribution"));
    }
    QVERIFY(thrown);
}

void TestSparsityDistribution::uniformGivesGlobalSparsity() {
    for (double s : {0.5, 0.9, 0.99}) {
        for (const auto& layers : {cnnLayers(), mlpLayers(), wideLayers()}) {
            auto d = layerDensities(layers, s, DistributionOptions{Distribution::Uniform, false, false});
            QCOMPARE(d.size(), layers.size());
            for (double v : d)
                QVERIFY2(std::abs(v - (1.0 - s)) < 1e-12, qPrintable(QString("S=%1: %2").arg(s).arg(describe(d))));
        }
    }
}

void TestSparsityDistribution::uniformKeepsTotal() {
    for (double s : {0.1, 0.5, 0.8, 0.9, 0.95, 0.99}) {
        for (const auto& layers : {cnnLayers(), mlpLayers(), wideLayers()}) {
            auto d = layerDensities(layers, s, DistributionOptions{Distribution::Uniform, false, false});
            checkTotal(layers, d, s);
        }
    }
}

void TestSparsityDistribution::erkKeepsTotal() {
    for (double s : {0.1, 0.5, 0.8, 0.9, 0.95, 0.99}) {
        for (const auto& layers : {cnnLayers(), mlpLayers(), wideLayers()}) {
            auto d = layerDensities(layers, s, DistributionOptions{Distribution::Erk, false, false});
            QCOMPARE(d.size(), layers.size());
            checkTotal(layers, d, s);
        }
    }
}

void TestSparsityDistribution::erkProportionalToScore() {
    for (double s : {0.8, 0.9, 0.99}) {
        for (const auto& layers : {cnnLayers(), mlpLayers(), wideLayers()}) {
            auto d = layerDensities(layers, s, DistributionOptions{Distribution::Erk, false, false});
            // Among non-dense layers density / score is one constant (eps).
            double eps = -1;
            int sparseLayers = 0;
            for (size_t i = 0; i < layers.size(); ++i) {
                if (d[i] >= 1.0) continue;
                ++sparseLayers;
                const double ratio = d[i] / erkScore(layers[i]);
                if (eps < 0) eps = ratio;
                QVERIFY2(std::abs(ratio - eps) <= 1e-9 * eps,
                         qPrintable(QString("S=%1 layer %2: ratio %3 vs %4").arg(s).arg(QString::fromStdString(layers[i].name)).arg(ratio).arg(eps)));
            }
            QVERIFY(sparseLayers >= 1);
            // A dense layer is one whose score would ask for more than density 1 at this eps.
            for (size_t i = 0; i < layers.size(); ++i)
                if (d[i] >= 1.0) QVERIFY2(eps * erkScore(layers[i]) >= 1.0 - 1e-12, qPrintable(describe(d)));
        }
    }
    // Spot values for the wide layers at S = 0.9 (no fallback): eps = 0.1 * total / sum(score * numel).
    const auto layers = wideLayers();
    auto d = layerDensities(layers, 0.9, DistributionOptions{Distribution::Erk, false, false});
    double denom = 0;
    for (const auto& l : layers) denom += erkScore(l) * static_cast<double>(l.numel());
    const double eps = 0.1 * totalWeights(layers) / denom;
    for (size_t i = 0; i < layers.size(); ++i) {
        QVERIFY2(eps * erkScore(layers[i]) < 1.0, "fixture should need no fallback");
        QVERIFY(std::abs(d[i] - eps * erkScore(layers[i])) < 1e-12);
    }
    // ERK is not uniform: the layer with the larger score is denser.
    QVERIFY(d[2] > d[0]);
}

void TestSparsityDistribution::erkDenseFallback() {
    // tiny [10, 2]: score 0.6; the others ~0.002..0.003. At S = 0.5 the first eps (~214) would give the
    // tiny layer density ~128: it becomes exactly 1 and the rest still meet the total.
    const std::vector<LayerShape> layers = {LayerShape{"tiny", {10, 2}}, LayerShape{"big", {1000, 1000}},
                                            LayerShape{"mid", {500, 1000}}};
    const double s = 0.5;
    auto d = layerDensities(layers, s, DistributionOptions{Distribution::Erk, false, false});
    QCOMPARE(d[0], 1.0);
    QVERIFY(d[1] < 1.0 && d[2] < 1.0);
    checkTotal(layers, d, s);
    // Expected eps after fallback: (keep - 20) / (score_big * numel_big + score_mid * numel_mid).
    const double keep = 0.5 * totalWeights(layers);
    const double eps = (keep - 20.0) / (erkScore(layers[1]) * 1e6 + erkScore(layers[2]) * 5e5);
    QVERIFY2(std::abs(d[1] - eps * erkScore(layers[1])) < 1e-12, qPrintable(describe(d)));
    QVERIFY2(std::abs(d[2] - eps * erkScore(layers[2])) < 1e-12, qPrintable(describe(d)));
}

void TestSparsityDistribution::erkDenseFallbackCascades() {
    // Making one layer dense raises eps, which can push another above 1: solved again until valid.
    // [1000, 1] (score 1.001) exceeds 1 at the first eps (~31.9); [80, 80] (score 0.025) is then at
    // density ~0.80, but after the first fallback eps becomes ~46.2 and it needs ~1.15: it must become
    // dense too, and the last layer takes the rest (eps ~46.67, density 0.09334).
    const std::vector<LayerShape> layers = {LayerShape{"bias_like", {1000, 1}}, LayerShape{"small", {80, 80}},
                                            LayerShape{"big", {1000, 1000}}};
    auto d = layerDensities(layers, 0.9, DistributionOptions{Distribution::Erk, false, false});
    QCOMPARE(d[0], 1.0);
    QCOMPARE(d[1], 1.0);
    QVERIFY2(std::abs(d[2] - 0.09334) < 1e-9, qPrintable(describe(d)));
    checkTotal(layers, d, 0.9);
    // At 0.95 only the first layer needs the fallback; the other two share one eps.
    d = layerDensities(layers, 0.95, DistributionOptions{Distribution::Erk, false, false});
    QCOMPARE(d[0], 1.0);
    QVERIFY(d[1] < 1.0 && d[2] < 1.0);
    QVERIFY2(std::abs(d[1] / erkScore(layers[1]) - d[2] / erkScore(layers[2])) < 1e-9, qPrintable(describe(d)));
    checkTotal(layers, d, 0.95);
    // Tiny square layers: all fall back at once; densities never increase with layer size.
    const std::vector<LayerShape> squares = {LayerShape{"t1", {4, 4}}, LayerShape{"t2", {40, 40}},
                                             LayerShape{"t3", {200, 200}}, LayerShape{"big", {2000, 2000}}};
    for (double s : {0.5, 0.7, 0.9}) {
        auto q = layerDensities(squares, s, DistributionOptions{Distribution::Erk, false, false});
        checkTotal(squares, q, s);
        QCOMPARE(q[0], 1.0);
        QVERIFY(q[3] < 1.0);
        for (size_t i = 0; i + 1 < q.size(); ++i) QVERIFY2(q[i] >= q[i + 1], qPrintable(describe(q)));
    }
}

void TestSparsityDistribution::denseFirstAndLast() {
    const auto layers = cnnLayers();
    for (auto kind : {Distribution::Erk, Distribution::Uniform}) {
        for (double s : {0.5, 0.8, 0.9}) {
            auto first = layerDensities(layers, s, DistributionOptions{kind, true, false});
            QCOMPARE(first.front(), 1.0);
            checkTotal(layers, first, s);

            auto last = layerDensities(layers, s, DistributionOptions{kind, false, true});
            QCOMPARE(last.back(), 1.0);
            checkTotal(layers, last, s);

            auto both = layerDensities(layers, s, DistributionOptions{kind, true, true});
            QCOMPARE(both.front(), 1.0);
            QCOMPARE(both.back(), 1.0);
            checkTotal(layers, both, s);
            // The middle layers pay for it: sparser than without forced-dense layers.
            auto none = layerDensities(layers, s, DistributionOptions{kind, false, false});
            for (size_t i = 1; i + 1 < layers.size(); ++i)
                QVERIFY2(both[i] <= none[i] + 1e-12, qPrintable(describe(both) + " vs " + describe(none)));
        }
    }
}

void TestSparsityDistribution::denseFirstLastUniform() {
    // Uniform with forced-dense layers: every other layer shares one density that keeps the total.
    const auto layers = mlpLayers(); // 235200, 30000, 1000
    const double s = 0.9;
    auto d = layerDensities(layers, s, DistributionOptions{Distribution::Uniform, false, true});
    QCOMPARE(d[2], 1.0);
    QVERIFY(std::abs(d[0] - d[1]) < 1e-12);
    const double expected = (0.1 * 266200.0 - 1000.0) / 265200.0;
    QVERIFY2(std::abs(d[0] - expected) < 1e-12, qPrintable(describe(d)));
    checkTotal(layers, d, s);
    // Not possible: a dense fc1 alone (235200 weights) exceeds 10% of the network. The forced layer
    // stays dense and the others get no share (never a negative or NaN density).
    for (auto kind : {Distribution::Erk, Distribution::Uniform}) {
        auto imp = layerDensities(layers, s, DistributionOptions{kind, true, false});
        QCOMPARE(imp[0], 1.0);
        for (size_t i = 1; i < imp.size(); ++i) QVERIFY2(imp[i] >= 0.0 && imp[i] < 1e-12, qPrintable(describe(imp)));
    }
}

void TestSparsityDistribution::zeroSparsityAllDense() {
    for (auto kind : {Distribution::Erk, Distribution::Uniform}) {
        for (const auto& layers : {cnnLayers(), mlpLayers(), wideLayers()}) {
            auto d = layerDensities(layers, 0.0, DistributionOptions{kind, false, false});
            QCOMPARE(d.size(), layers.size());
            for (size_t i = 0; i < d.size(); ++i) {
                QCOMPARE(d[i], 1.0);
                QCOMPARE(layerBudget(layers[i], d[i]), layers[i].numel());
            }
        }
    }
    QVERIFY(layerDensities({}, 0.9, DistributionOptions{}).empty());
}

void TestSparsityDistribution::layerBudgetFloors() {
    const LayerShape l1000{"x", {1000}};
    QCOMPARE(layerBudget(l1000, 0.1), int64_t{100}); // 0.1 * 1000 is 100.00000000000001 or 99.999... in doubles
    QCOMPARE(layerBudget(l1000, 0.1234), int64_t{123});
    QCOMPARE(layerBudget(l1000, 0.1239), int64_t{123}); // floor, not round
    QCOMPARE(layerBudget(l1000, 0.0009), int64_t{0});
    QCOMPARE(layerBudget(l1000, 1.0), int64_t{1000});
    QCOMPARE(layerBudget(l1000, 0.0), int64_t{0});
    const LayerShape fc{"fc", {10, 100}};
    QCOMPARE(layerBudget(fc, 0.1), int64_t{100});
    QCOMPARE(layerBudget(fc, 0.001), int64_t{1});
    QCOMPARE(layerBudget(fc, 0.29), int64_t{290}); // 0.29 * 1000 = 289.99999999999994 in doubles
    const LayerShape w{"w", {100}};
    QCOMPARE(layerBudget(w, 0.29), int64_t{29}); // 28.999999999999996
    QCOMPARE(layerBudget(w, 0.57), int64_t{57}); // 56.99999999999999
    const LayerShape conv{"conv", {64, 64, 3, 3}}; // 36864
    QCOMPARE(layerBudget(conv, 0.1), int64_t{3686});
    QCOMPARE(layerBudget(conv, 0.5), int64_t{18432});
}

QTEST_GUILESS_MAIN(TestSparsityDistribution)
#include "test_sparsity_distribution.moc"
