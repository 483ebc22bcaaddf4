// The Studio's Qt-free structure logic on hand-built masks with known answers: degree histograms of
// constant fan-in, RigL-like and ablated layers, how the next layer reads a layer (columns, conv ->
// Linear flatten, conv -> conv), what a first layer reads of a 28 x 28 or 3 x 32 x 32 input and how
// that changed, one neuron's history with SRigL's salience checked against a brute force, and how
// the compare dashboard lines several runs up (common layers, the step at a fraction, shared bins).
// Links srigl_studio_logic alone (no Widgets, no Torch).
#include "sessions/mask/mask_bits.hpp"
#include "tests/support/hand_masks.hpp"
#include "widgets/logic/colour_maps.hpp"
#include "widgets/logic/degree_comparison.hpp"
#include "widgets/logic/degree_histograms.hpp"
#include "widgets/logic/input_connectivity.hpp"
#include "widgets/logic/neuron_history.hpp"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

// Each row r keeps k inputs starting at column (r * 3) % fanIn, wrapping.
LayerMaskSnapshot constantFanIn(const std::string& name, int64_t out, int64_t fanIn, int64_t k) {
    auto m = emptyMask(name, out, fanIn);
    for (int64_t r = 0; r < out; ++r)
        for (int64_t j = 0; j < k; ++j) set(m, r, (r * 3 + j) % fanIn);
    return m;
}

// Rows with the given fan-ins (columns 0..n-1).
LayerMaskSnapshot rowsWith(const std::string& name, const std::vector<int64_t>& fanIns, int64_t fanIn) {
    auto m = emptyMask(name, static_cast<int64_t>(fanIns.size()), fanIn);
    for (size_t r = 0; r < fanIns.size(); ++r)
        for (int64_t c = 0; c < fanIns[r]; ++c) set(m, static_cast<int64_t>(r), c);
    return m;
}

MaskRecord record(int64_t step, LayerMaskSnapshot mask) {
    MaskRecord r;
    r.step = step;
    r.stats.name = mask.name;
    r.mask = std::move(mask);
    return r;
}

// A literal reading of SRigL's saliency (docs/algorithms.md): sort, take, count, lower the threshold.
LayerSalience bruteForceSalience(const LayerMaskSnapshot& m, const std::vector<float>& dense,
                                 const std::vector<float>& gradient, double f, double gammaSal, int64_t budget) {
    struct Entry {
        float value;
        int64_t index;
    };
    auto byValueThenIndex = [](const Entry& a, const Entry& b) {
        return a.value != b.value ? a.value > b.value : a.index < b.index;
    };
    std::vector<Entry> active, all;
    for (int64_t i = 0; i < m.outFeatures * m.fanIn; ++i) {
        if (isSet(m, i / m.fanIn, i % m.fanIn)) active.push_back({std::fabs(dense[static_cast<size_t>(i)]), i});
        all.push_back({std::fabs(gradient[static_cast<size_t>(i)]), i});
    }
    std::sort(active.begin(), active.end(), byValueThenIndex);
    std::sort(all.begin(), all.end(), byValueThenIndex);
    const auto nnz = static_cast<int64_t>(active.size());
    const auto nPrune = static_cast<int64_t>(std::floor(static_cast<double>(nnz) * f));
    std::vector<uint8_t> salient(dense.size(), 0), magnitude(dense.size(), 0), grad(dense.size(), 0);
    for (int64_t i = 0; i < nnz - nPrune; ++i) magnitude[static_cast<size_t>(active[static_cast<size_t>(i)].index)] = 1;
    for (int64_t i = 0; i < nPrune; ++i) grad[static_cast<size_t>(all[static_cast<size_t>(i)].index)] = 1;
    LayerSalience s;
    s.nKeep = nnz - nPrune;
    s.nPrune = nPrune;
    s.k0 = budget / m.outFeatures;
    s.salient.assign(static_cast<size_t>(m.outFeatures), 0);
    s.byMagnitude = s.salient;
    s.byGradient = s.salient;
    for (size_t i = 0; i < dense.size(); ++i) {
        const size_t row = i / static_cast<size_t>(m.fanIn);
        s.salient[row] += magnitude[i] || grad[i];
        s.byMagnitude[row] += magnitude[i];
        s.byGradient[row] += grad[i];
    }
    s.threshold = std::max<int64_t>(1, static_cast<int64_t>(gammaSal * static_cast<double>(s.k0)));
    const int64_t minActive = std::min(m.outFeatures, budget / (m.fanIn + 1) + 1);
    for (;;) {
        int64_t survivors = 0;
        for (int64_t c : s.salient) survivors += c >= s.threshold;
        if (s.threshold == 0 || survivors >= minActive) break;
        --s.threshold;
    }
    for (int64_t c : s.salient) s.belowThreshold.push_back(c < s.threshold);
    return s;
}

// The active entries of a dense [out, fan_in] array, in mask order (as the store keeps weights).
std::vector<float> activeValues(const LayerMaskSnapshot& m, const std::vector<float>& dense) {
    std::vector<float> out;
    for (int64_t i = 0; i < m.outFeatures * m.fanIn; ++i)
        if (isSet(m, i / m.fanIn, i % m.fanIn)) out.push_back(dense[static_cast<size_t>(i)]);
    return out;
}

} // namespace

class TestStudioLogic : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void constantFanInIsOneBar();
    void riglSpreadShowsEveryCount();
    void wideRangesKeepIntegerBinsAndTheirSum();
    void ablatedNeuronsAreReportedApart();
    void nextLayerColumnsFindUnusedNeurons();
    void convToLinearGroupsColumnsPerChannel();
    void convToConvGroupsByInputChannel();
    void nextLayerThatDoesNotFitIsRefused();
    void singlePixelOfA28x28Input();
    void changeSinceThePreviousSnapshotIsSigned();
    void convFirstLayerOnCifarPerChannelAndKernelPosition();
    void inputShapeFromDatasetAndConfig();
    void coloursAreDistinctForMaskedOutPositions();
    void salienceMatchesABruteForce();
    void salienceByHand();
    void neuronHistorySaysWhatWasNotRecorded();
    void sampledLayersAreReadAsSamples();
    void commonLayersKeepTheFirstRunsOrder();
    void maskStepAtFollowsTheFractionOfTraining();
    void sharedHistogramsLineUpTheRunsBars();
};

void TestStudioLogic::constantFanInIsOneBar() {
    const auto d = layerDegrees(constantFanIn("fc", 6, 20, 4));
    QCOMPARE(d.kept, int64_t(24));
    QCOMPARE(d.fanInHistogram.counts, std::vector<int64_t>{6});
    QCOMPARE(d.fanInHistogram.lo, int64_t(4));
    QCOMPARE(d.fanInHistogram.width, int64_t(1));
    QVERIFY(d.fanInStats.constant());
    QCOMPARE(d.fanInStats.mean, 4.0);
    QCOMPARE(d.outDegreeHistogram.total(), int64_t(20));
    int64_t columns = 0;
    for (int64_t c : d.outDegreePerInput) columns += c;
    QCOMPARE(columns, int64_t(24));

    // A spike stays one bar also at a k far beyond the bin count.
    const auto wide = layerDegrees(constantFanIn("big", 5, 400, 300));
    QCOMPARE(wide.fanInHistogram.counts.size(), size_t(1));
    QCOMPARE(wide.fanInHistogram.total(), int64_t(5));
}

void TestStudioLogic::riglSpreadShowsEveryCount() {
    const auto d = layerDegrees(rowsWith("fc", {0, 1, 2, 2, 5}, 8));
    QCOMPARE(d.fanInHistogram.lo, int64_t(0));
    QCOMPARE(d.fanInHistogram.width, int64_t(1));
    QCOMPARE(d.fanInHistogram.counts, (std::vector<int64_t>{1, 1, 2, 0, 0, 1}));
    QCOMPARE(d.fanInHistogram.total(), int64_t(5));
    QVERIFY(!d.fanInStats.constant());
    QCOMPARE(d.fanInStats.min, int64_t(0));
    QCOMPARE(d.fanInStats.max, int64_t(5));
    QCOMPARE(d.fanInStats.mean, 2.0);
    // Column c is read by every row with fan-in > c.
    QCOMPARE(d.outDegreePerInput, (std::vector<int64_t>{4, 3, 1, 1, 1, 0, 0, 0}));
}

void TestStudioLogic::wideRangesKeepIntegerBinsAndTheirSum() {
    std::vector<int64_t> values;
    for (int64_t v = 3; v < 203; ++v) values.push_back(v);
    const auto h = integerHistogram(values, 40);
    QVERIFY(h.counts.size() <= 40);
    QCOMPARE(h.total(), int64_t(200));
    QCOMPARE(h.lo % h.width, int64_t(0)); // edges on multiples of the width
    QVERIFY(h.lo <= 3 && h.lo + h.width * static_cast<int64_t>(h.counts.size()) > 202);
    // A constant fan-in layer with ablated neurons: two bars, 0 and k, whatever k is.
    const auto spikes = integerHistogram({0, 0, 300, 300, 300}, 40);
    int64_t bars = 0;
    for (int64_t c : spikes.counts) bars += c > 0;
    QCOMPARE(bars, int64_t(2));
    QCOMPARE(integerHistogram({}).counts.size(), size_t(0));
}

void TestStudioLogic::ablatedNeuronsAreReportedApart() {
    auto m = constantFanIn("fc", 6, 20, 4);
    m.bits.assign(m.bits.size(), 0);
    for (int64_t r = 2; r < 6; ++r)
        for (int64_t j = 0; j < 5; ++j) set(m, r, r + j);
    m.ablated = {0, 1};
    const auto d = layerDegrees(m);
    QCOMPARE(d.ablatedCount, int64_t(2));
    QCOMPARE(d.fanInHistogram.total(), int64_t(6)); // every neuron, the ablated at 0
    QCOMPARE(d.fanInHistogram.counts.front(), int64_t(2));
    QCOMPARE(d.fanInHistogram.counts.back(), int64_t(4));
    QVERIFY(d.fanInStats.constant()); // over the active neurons only
    QCOMPARE(d.fanInStats.count, int64_t(4));
    QCOMPARE(d.fanInStats.min, int64_t(5));
}

void TestStudioLogic::nextLayerColumnsFindUnusedNeurons() {
    auto layer = rowsWith("fc1", {3, 4, 6, 0}, 6);
    layer.ablated = {3};
    auto next = emptyMask("fc2", 2, 4);
    set(next, 0, 0);
    set(next, 1, 0);
    set(next, 1, 1);
    set(next, 0, 3); // reads the ablated neuron 3; nobody reads neuron 2
    const auto u = nextLayerUse(layer, next);
    QVERIFY(u.grouping == NextLayerGrouping::Columns);
    QCOMPARE(u.outDegree, (std::vector<int64_t>{2, 1, 0, 1}));
    QCOMPARE(u.unused, std::vector<int64_t>{2});
    QCOMPARE(u.unusedWeights, int64_t(6));
    QCOMPARE(u.unusedPercent, 25.0);
    QCOMPARE(u.unusedWeightPercent, 100.0 * 6.0 / 13.0);
    QCOMPARE(u.ablatedCount, int64_t(1));
    QCOMPARE(u.ablatedStillRead, std::vector<int64_t>{3});
    QCOMPARE(u.connectionsFromAblated, int64_t(1));
    QCOMPARE(u.outDegreeHistogram.total(), int64_t(4));
    QCOMPARE(u.outDegreeStats.count, int64_t(3)); // the ablated neuron is apart
}

void TestStudioLogic::convToLinearGroupsColumnsPerChannel() {
    // A conv with 3 output channels feeding a Linear over its flattened 3 x 2 x 2 output.
    const auto conv = constantFanIn("conv2", 3, 9, 2);
    auto fc = emptyMask("fc1", 4, 12);
    set(fc, 0, 0);  // channel 0
    set(fc, 1, 3);  // channel 0
    set(fc, 2, 3);  // channel 0
    set(fc, 0, 8);  // channel 2
    set(fc, 3, 11); // channel 2
    const auto u = nextLayerUse(conv, fc, {4, 12});
    QVERIFY(u.grouping == NextLayerGrouping::FlattenedChannels);
    QCOMPARE(u.groupSize, int64_t(4));
    QCOMPARE(u.outDegree, (std::vector<int64_t>{3, 0, 2}));
    QCOMPARE(u.unused, std::vector<int64_t>{1});
    QCOMPARE(u.unusedWeights, int64_t(2));
    // The same without the shape: a multiple of the neurons is read as channel blocks.
    QCOMPARE(nextLayerUse(conv, fc).outDegree, (std::vector<int64_t>{3, 0, 2}));
}

void TestStudioLogic::convToConvGroupsByInputChannel() {
    const auto conv1 = constantFanIn("conv1", 3, 9, 9);
    auto conv2 = emptyMask("conv2", 5, 27);               // [5, 3, 3, 3]
    for (int64_t r = 0; r < 5; ++r) set(conv2, r, 9 + r); // input channel 1, kernel positions 0..4
    set(conv2, 0, 26);                                    // input channel 2, last position
    const auto u = nextLayerUse(conv1, conv2, {5, 3, 3, 3});
    QVERIFY(u.grouping == NextLayerGrouping::ConvInputChannels);
    QCOMPARE(u.groupSize, int64_t(9));
    QCOMPARE(u.outDegree, (std::vector<int64_t>{0, 5, 1}));
    QCOMPARE(u.unused, std::vector<int64_t>{0});
}

void TestStudioLogic::nextLayerThatDoesNotFitIsRefused() {
    const auto layer = constantFanIn("fc1", 4, 8, 2);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, nextLayerUse(layer, emptyMask("fc2", 3, 6)));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, nextLayerUse(layer, emptyMask("c", 3, 36), {3, 5, 3, 3}));
    auto broken = emptyMask("fc2", 3, 4);
    broken.bits.pop_back();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, nextLayerUse(layer, broken));
}

void TestStudioLogic::singlePixelOfA28x28Input() {
    auto fc1 = emptyMask("fc1", 10, 784);
    const int64_t pixel = 5 * 28 + 7; // row 5, column 7
    set(fc1, 0, pixel);
    set(fc1, 3, pixel);
    set(fc1, 3, 0);
    const auto ic = inputConnectivity(fc1, {1, 28, 28});
    QCOMPARE(ic.layout.kind, FirstLayerKind::Linear);
    QCOMPARE(ic.connections.height, int64_t(28));
    QCOMPARE(ic.connections.at(0, 5, 7), 2.0f);
    QCOMPARE(ic.connections.at(0, 0, 0), 1.0f);
    QCOMPARE(ic.connections.at(0, 7, 5), 0.0f);
    QCOMPARE(ic.maxConnections, int64_t(2));
    QCOMPARE(ic.unconnected, int64_t(782));
    QVERIFY(!ic.change);

    const auto counts = renderCounts(ic.connections, static_cast<double>(ic.maxConnections));
    QCOMPARE(counts.width, 28);
    QCOMPARE(counts.height, 28);
    QCOMPARE(counts.pixel(7, 5), colourAt(ColourMap::Sequential, 1.0));
    QCOMPARE(counts.pixel(0, 0), colourAt(ColourMap::Sequential, 0.5));
    QCOMPARE(counts.pixel(5, 7), colourAt(ColourMap::Sequential, 0.0));

    // Neuron 3's receptive field with its two stored weights (mask order: pixel 0, then (5, 7)).
    const std::vector<float> weights{0.5f, -0.25f, 0.75f};
    const auto field = receptiveField(ic.layout, fc1, 3, &weights);
    QCOMPARE(field.fanIn, int64_t(2));
    QVERIFY(field.mask.shown(0, 5, 7) && field.mask.shown(0, 0, 0) && !field.mask.shown(0, 1, 1));
    QVERIFY(field.weights);
    QCOMPARE(field.weights->at(0, 0, 0), -0.25f);
    QCOMPARE(field.weights->at(0, 5, 7), 0.75f);
    QCOMPARE(field.maxAbsWeight, 0.75f);
    const auto picture = renderSigned(*field.weights, field.maxAbsWeight);
    QCOMPARE(picture.pixel(7, 5), colourAt(ColourMap::Diverging, 1.0));
    QCOMPARE(picture.pixel(1, 1), kMaskedOutColour);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, receptiveField(ic.layout, fc1, 10));
    const std::vector<float> tooFew{0.5f};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, receptiveField(ic.layout, fc1, 3, &tooFew));
}

void TestStudioLogic::changeSinceThePreviousSnapshotIsSigned() {
    auto before = emptyMask("fc1", 2, 784);
    set(before, 0, 10);
    set(before, 1, 10);
    set(before, 1, 20);
    auto now = emptyMask("fc1", 2, 784);
    set(now, 0, 30);
    set(now, 1, 10);
    set(now, 1, 20);
    const auto ic = inputConnectivity(now, {1, 28, 28}, &before);
    QVERIFY(ic.change);
    QCOMPARE(ic.change->at(0, 0, 10), -1.0f);
    QCOMPARE(ic.change->at(0, 1, 2), 1.0f); // input 30 = row 1, column 2
    QCOMPARE(ic.change->at(0, 0, 20), 0.0f);
    QCOMPARE(ic.gained, int64_t(1));
    QCOMPARE(ic.lost, int64_t(1));
    QCOMPARE(ic.maxAbsChange, int64_t(1));
    const auto picture = renderSigned(*ic.change, static_cast<double>(ic.maxAbsChange));
    QCOMPARE(picture.pixel(10, 0), colourAt(ColourMap::Diverging, 0.0));
    QCOMPARE(picture.pixel(2, 1), colourAt(ColourMap::Diverging, 1.0));
    QCOMPARE(picture.pixel(20, 0), colourAt(ColourMap::Diverging, 0.5));
    const auto otherShape = emptyMask("fc1", 3, 784);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, inputConnectivity(now, {1, 28, 28}, &otherShape));
}

void TestStudioLogic::convFirstLayerOnCifarPerChannelAndKernelPosition() {
    auto conv = emptyMask("conv1", 4, 27); // [4, 3, 3, 3]
    set(conv, 0, 0 * 9 + 4);               // channel 0 centre
    set(conv, 1, 0 * 9 + 4);
    set(conv, 2, 2 * 9 + 8); // channel 2, bottom right
    const auto ic = inputConnectivity(conv, {3, 32, 32}, nullptr, {4, 3, 3, 3});
    QCOMPARE(ic.layout.kind, FirstLayerKind::Conv);
    QCOMPARE(ic.connections.channels, int64_t(3));
    QCOMPARE(ic.connections.width, int64_t(3));
    QCOMPARE(ic.connections.at(0, 1, 1), 2.0f);
    QCOMPARE(ic.connections.at(2, 2, 2), 1.0f);
    QCOMPARE(ic.unconnected, int64_t(25));
    // Without the shape: 27 = 3 channels x a 3 x 3 kernel.
    QCOMPARE(inputLayout(conv, {3, 32, 32}).planeWidth, int64_t(3));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, inputLayout(emptyMask("odd", 2, 30), {3, 32, 32}));

    // Planes side by side with a transparent column between them.
    const auto picture = renderCounts(ic.connections, 2.0);
    QCOMPARE(picture.width, 3 * 3 + 2 * kPlaneGap);
    QCOMPARE(picture.height, 3);
    QCOMPARE(picture.pixel(3, 0), kGapColour);
    QCOMPARE(picture.pixel(1, 1), colourAt(ColourMap::Sequential, 1.0));
    QCOMPARE(picture.pixel(2 * (3 + kPlaneGap) + 2, 2), colourAt(ColourMap::Sequential, 0.5));

    const std::vector<float> weights{0.1f, 0.2f, -0.4f};
    const auto field = receptiveField(ic.layout, conv, 2, &weights);
    QCOMPARE(field.weights->at(2, 2, 2), -0.4f);
    QVERIFY(!field.mask.shown(0, 1, 1));
}

void TestStudioLogic::inputShapeFromDatasetAndConfig() {
    QVERIFY(inputShapeForDataset("mnist") == (InputShape{1, 28, 28}));
    QVERIFY(inputShapeForDataset("Fashion-MNIST") == (InputShape{1, 28, 28}));
    QVERIFY(inputShapeForDataset("synthetic") == (InputShape{1, 28, 28}));
    QVERIFY(inputShapeForDataset("CIFAR-10") == (InputShape{3, 32, 32}));
    QVERIFY(!inputShapeForDataset("imagenet"));
    QVERIFY(inputShapeFromConfig(R"({"model":"lenet5","dataset":"cifar10"})") == (InputShape{3, 32, 32}));
    QVERIFY(!inputShapeFromConfig("not json"));
    QVERIFY(!inputShapeFromConfig(R"({"model":"mlp"})"));
}

void TestStudioLogic::coloursAreDistinctForMaskedOutPositions() {
    for (int i = 0; i <= 100; ++i) {
        QVERIFY(!(colourAt(ColourMap::Sequential, i / 100.0) == kMaskedOutColour));
        QVERIFY(!(colourAt(ColourMap::Diverging, i / 100.0) == kMaskedOutColour));
    }
    const auto bar = colourBar(ColourMap::Diverging, 11, 2);
    QCOMPARE(bar.width, 11);
    QCOMPARE(bar.pixel(5, 1), colourAt(ColourMap::Diverging, 0.5));
    QCOMPARE(bar.pixel(0, 0), colourAt(ColourMap::Diverging, 0.0));
    // Viridis gets lighter from low to high: counts read in order.
    auto light = [](Rgba c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; };
    for (int i = 0; i < 20; ++i)
        QVERIFY(light(colourAt(ColourMap::Sequential, i / 20.0)) <
                light(colourAt(ColourMap::Sequential, (i + 1) / 20.0)));
}

void TestStudioLogic::salienceMatchesABruteForce() {
    std::mt19937 gen(7);
    int withAblation = 0, lowered = 0; // the cases must reach both branches of the rule
    for (int trial = 0; trial < 40; ++trial) {
        const int64_t out = 3 + trial % 5, fanIn = 4 + trial % 7, k = 1 + trial % 3;
        auto m = emptyMask("fc", out, fanIn);
        for (int64_t r = 0; r < out; ++r) {
            std::vector<int64_t> cols(static_cast<size_t>(fanIn));
            for (int64_t c = 0; c < fanIn; ++c) cols[static_cast<size_t>(c)] = c;
            std::shuffle(cols.begin(), cols.end(), gen);
            // Some rows ablated (empty), as after an earlier update.
            if (trial % 4 == 0 && r == 0) continue;
            for (int64_t j = 0; j < k; ++j) set(m, r, cols[static_cast<size_t>(j)]);
        }
        // Coarse values: many ties, broken by index order in both.
        std::uniform_int_distribution<int> level(-4, 4);
        std::vector<float> dense(static_cast<size_t>(out * fanIn)), gradient(dense.size());
        for (auto& v : dense) v = 0.25f * static_cast<float>(level(gen));
        for (auto& g : gradient) g = 0.5f * static_cast<float>(level(gen));
        const double f = 0.1 * (trial % 6);
        const double gammaSal = trial % 7 == 0 ? 0.9 : 0.3 + 0.1 * (trial % 3);
        const int64_t budget = k * out + trial % 2;
        SalienceParams params;
        params.gammaSal = gammaSal;
        const auto got = layerSalience(m, activeValues(m, dense), gradient, f, params, budget);
        const auto want = bruteForceSalience(m, dense, gradient, f, gammaSal, budget);
        QCOMPARE(got.nKeep, want.nKeep);
        QCOMPARE(got.nPrune, want.nPrune);
        QCOMPARE(got.salient, want.salient);
        QCOMPARE(got.byMagnitude, want.byMagnitude);
        QCOMPARE(got.byGradient, want.byGradient);
        QCOMPARE(got.threshold, want.threshold);
        QCOMPARE(got.belowThreshold, want.belowThreshold);
        withAblation += std::count(got.belowThreshold.begin(), got.belowThreshold.end(), 1) > 0;
        lowered += got.threshold < std::max<int64_t>(1, static_cast<int64_t>(gammaSal * static_cast<double>(got.k0)));
    }
    QVERIFY(withAblation > 0);
    QVERIFY(lowered > 0);
}

void TestStudioLogic::salienceByHand() {
    // 3 neurons x 4 inputs, k = 2 (B = 6), drop fraction 0.5: n_prune = 3, n_keep = 3.
    auto m = emptyMask("fc", 3, 4);
    set(m, 0, 0);
    set(m, 0, 1);
    set(m, 1, 0);
    set(m, 1, 1);
    set(m, 2, 2);
    set(m, 2, 3);
    const std::vector<float> weights{0.9f, -0.8f, 0.1f, 0.05f, 0.7f, 0.02f}; // top 3 |W|: 0.9, 0.8 (row 0), 0.7 (row 2)
    std::vector<float> gradient(12, 0.0f);
    gradient[4 * 2 + 0] = 5.0f;  // row 2
    gradient[4 * 2 + 1] = -4.0f; // row 2
    gradient[4 * 0 + 3] = 3.0f;  // row 0
    SalienceParams params;
    params.gammaSal = 1.0; // threshold = k0 = 2
    const auto s = layerSalience(m, weights, gradient, 0.5, params, 6);
    QCOMPARE(s.salient, (std::vector<int64_t>{3, 0, 3}));
    QCOMPARE(s.threshold, int64_t(2));
    QCOMPARE(s.belowThreshold, (std::vector<uint8_t>{0, 1, 0}));
    // Ablation off: counts stay, nothing is below a threshold.
    params.gammaSal = 0.0;
    const auto off = layerSalience(m, weights, gradient, 0.5, params, 6);
    QCOMPARE(off.threshold, int64_t(0));
    QCOMPARE(off.belowThreshold, (std::vector<uint8_t>{0, 0, 0}));
}

void TestStudioLogic::neuronHistorySaysWhatWasNotRecorded() {
    // fc1: 3 neurons x 4 inputs, k = 2; neuron 1 ablated at step 200. fc2 reads fc1's 3 neurons.
    auto m0 = emptyMask("fc1", 3, 4);
    for (int64_t r = 0; r < 3; ++r)
        for (int64_t c : {r, r + 1}) set(m0, r, c);
    auto m200 = emptyMask("fc1", 3, 4);
    setEach(m200, {{0, 0}, {0, 1}, {2, 2}, {2, 3}});
    m200.ablated = {1};
    auto n0 = emptyMask("fc2", 2, 3);
    setEach(n0, {{0, 1}, {1, 1}, {1, 2}});
    auto n200 = emptyMask("fc2", 2, 3);
    set(n200, 0, 0);
    const std::vector<MaskRecord> masks{record(0, m0), record(0, n0), record(200, m200), record(200, n200)};
    std::vector<WeightValuesRecord> weights{
        {0, "fc1", {1, 2, 3, 4, 5, 6}}, {100, "fc1", {1, 2, 0.6f, -0.8f, 5, 6}}, {100, "fc2", {9, 9, 9}}};
    std::vector<GradientRecord> gradients{{100, "fc1", 3, 4, std::vector<float>(12, 0.0f)}};
    SalienceParams params;
    params.gammaSal = 0.5;
    params.dropFraction =
        dropFractionsFromMetrics({{100, "drop_fraction", 0.5}, {200, "drop_fraction", 0.4}, {100, "train_loss", 1.0}});
    QCOMPARE(params.dropFraction.size(), size_t(2));

    const auto h = neuronHistory(masks, weights, gradients, "fc1", 1, params, {"fc2", {}});
    QCOMPARE(h.budget, int64_t(6));
    QCOMPARE(h.points.size(), size_t(3));
    const auto& p0 = h.points[0];
    QCOMPARE(p0.step, int64_t(0));
    QCOMPARE(p0.fanIn, int64_t(2));
    QVERIFY(p0.weightNorm && std::abs(*p0.weightNorm - 5.0) < 1e-9); // |(3, 4)|
    QVERIFY(!p0.salience.recorded);
    QCOMPARE(p0.salience.missing, std::string("gradient, drop fraction"));
    QCOMPARE(p0.outDegree, std::optional<int64_t>(2));

    const auto& p1 = h.points[1]; // weights and gradient recorded, mask of step 0
    QCOMPARE(p1.step, int64_t(100));
    QVERIFY(p1.weightNorm && std::abs(*p1.weightNorm - 1.0) < 1e-6);
    QVERIFY(p1.salience.recorded);
    // n_keep = 3 of |W| = 1, 2, 0.6, 0.8, 5, 6: 5, 6 (neuron 2) and 2 (neuron 0); zero gradients
    // tie, so the first 3 entries in index order (neuron 0) are the gradient part.
    QCOMPARE(p1.salience.byMagnitude, int64_t(0));
    QCOMPARE(p1.salience.salient, int64_t(0));
    QCOMPARE(p1.salience.threshold, int64_t(1));
    QVERIFY(p1.salience.belowThreshold);
    QCOMPARE(p1.outDegree, std::optional<int64_t>(2)); // fc2's step-0 snapshot

    const auto& p2 = h.points[2];
    QCOMPARE(p2.step, int64_t(200));
    QVERIFY(p2.ablated);
    QCOMPARE(p2.fanIn, int64_t(0));
    QVERIFY(!p2.weightNorm);
    QCOMPARE(p2.salience.missing, std::string("weights, gradient"));
    QCOMPARE(p2.outDegree, std::optional<int64_t>(0));

    // Without a next layer there is no outgoing count; unknown layers and neurons are refused.
    QVERIFY(!neuronHistory(masks, weights, gradients, "fc1", 1, params).points[0].outDegree);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, neuronHistory(masks, weights, gradients, "fc9", 0));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, neuronHistory(masks, weights, gradients, "fc1", 3));
    weights.push_back({200, "fc1", {1.0f}});
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, neuronHistory(masks, weights, gradients, "fc1", 0));
}

// A layer too large to snapshot whole is stored as every rowStride-th neuron: its degrees are the
// sample's, its rows name the layer's neurons, and what depends on every row of it (how the next layer
// reads it, salience) is refused or left out rather than computed from the sample.
void TestStudioLogic::sampledLayersAreReadAsSamples() {
    // fc1: 10 neurons x 5 inputs, sampled every 4th (neurons 0, 4, 8), k = 2; neuron 4 ablated at step 200.
    auto sample = [](bool ablate) {
        auto m = emptyMask("fc1", 3, 5);
        m.rowStride = 4;
        m.layerOutFeatures = 10;
        setEach(m, {{0, 0}, {0, 1}, {2, 3}, {2, 4}});
        if (ablate) m.ablated = {1};
        else setEach(m, {{1, 1}, {1, 2}});
        return m;
    };
    const auto s0 = sample(false), s200 = sample(true);
    const LayerDegrees d = layerDegrees(s0);
    QCOMPARE(d.outFeatures, int64_t(3));
    QCOMPARE(d.rowStride, int64_t(4));
    QCOMPARE(d.layerOutFeatures, int64_t(10));
    QCOMPARE(d.fanInPerNeuron, (std::vector<int64_t>{2, 2, 2}));
    QVERIFY(d.fanInStats.constant());

    // fc2 reads fc1's 10 neurons; from a sample of fc1 (or of fc2) which are read is not known.
    auto next = emptyMask("fc2", 2, 10);
    setEach(next, {{0, 4}, {1, 8}});
    for (const auto& [layer, reader] : {std::pair{s0, next}, std::pair{constantFanIn("fc0", 5, 7, 2), s0}}) {
        try {
            nextLayerUse(layer, reader);
            QFAIL("a sampled layer was read as a whole one");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(std::string(e.what()).find("every 4th of its 10 neurons") != std::string::npos, e.what());
        }
    }

    const std::vector<MaskRecord> masks{record(0, s0), record(0, next), record(200, s200), record(200, next)};
    SalienceParams params;
    params.dropFraction = dropFractionsFromMetrics({{200, "drop_fraction", 0.4}});
    const auto h = neuronHistory(masks, {}, {}, "fc1", 1, params, {"fc2", {}});
    QCOMPARE(h.row, int64_t(1));
    QCOMPARE(h.neuron, int64_t(4)); // row 1 of every 4th neuron
    QCOMPARE(h.points.size(), size_t(2));
    QCOMPARE(h.points[0].fanIn, int64_t(2));
    QVERIFY(!h.points[0].ablated);
    QCOMPARE(h.points[1].fanIn, int64_t(0));
    QVERIFY(h.points[1].ablated);
    for (const auto& p : h.points) {
        QVERIFY(!p.outDegree); // fc2 reads neuron 4 once, but only a sample of fc1 is known
        QVERIFY(!p.salience.recorded);
        QVERIFY2(p.salience.missing.find("every 4th neuron") != std::string::npos, p.salience.missing.c_str());
    }
    // Row 3 is past the sample's 3 rows (neuron 12 is past the layer's 10): the refusal says it is a
    // row of a sample, not the layer's neuron 3 (which exists).
    try {
        neuronHistory(masks, {}, {}, "fc1", 3);
        QFAIL("a row past the sample was read");
    } catch (const std::invalid_argument& e) {
        QCOMPARE(std::string(e.what()),
                 std::string("'fc1' has no sampled row 3 (its mask holds rows 0-2: every 4th of its 10 neurons)"));
    }
    QCOMPARE(noSuchRow(next, 2), std::string("'fc2' has no neuron 2"));
}

void TestStudioLogic::commonLayersKeepTheFirstRunsOrder() {
    QCOMPARE(commonLayers({{"fc1", "fc2", "fc3"}, {"fc2", "fc1"}, {"fc1", "fc2", "fc4"}}),
             (std::vector<std::string>{"fc1", "fc2"}));
    // A run with nothing recorded yet does not empty the list; no runs, no layers.
    QCOMPARE(commonLayers({{}, {"conv1", "fc1"}, {"conv1", "fc1"}}), (std::vector<std::string>{"conv1", "fc1"}));
    QVERIFY(commonLayers({}).empty());
    QVERIFY(commonLayers({{"a"}, {"b"}}).empty());
}

void TestStudioLogic::maskStepAtFollowsTheFractionOfTraining() {
    const std::vector<int64_t> steps{0, 100, 200, 300};
    QCOMPARE(maskStepAt(steps, 400, 1.0), int64_t(300)); // final: RigL stops updating before the end
    QCOMPARE(maskStepAt(steps, 400, 0.5), int64_t(200));
    QCOMPARE(maskStepAt(steps, 400, 0.49), int64_t(100)); // the mask in use at step 196
    QCOMPARE(maskStepAt(steps, 400, 0.0), int64_t(0));
    QCOMPARE(maskStepAt({50, 100}, 400, 0.1), int64_t(50)); // nothing that early: the first snapshot
    QCOMPARE(maskStepAt(steps, 0, 0.5), int64_t(100));       // steps unknown (still training): of the last mask step
    QCOMPARE(maskStepAt({}, 400, 0.5), int64_t(-1));
}

void TestStudioLogic::sharedHistogramsLineUpTheRunsBars() {
    // SRigL's constant fan-in 30 beside a RigL spread 15..45: one range, one bar for SRigL.
    std::vector<int64_t> rigl;
    for (int64_t r = 0; r < 100; ++r) rigl.push_back(15 + (r * 7) % 31);
    const std::vector<int64_t> srigl(100, 30);
    const auto shared = sharedHistograms({srigl, rigl});
    QCOMPARE(shared.histograms.size(), size_t(2));
    const auto& a = shared.histograms[0];
    const auto& b = shared.histograms[1];
    QCOMPARE(a.lo, b.lo);
    QCOMPARE(a.width, b.width);
    QCOMPARE(a.counts.size(), b.counts.size());
    QCOMPARE(a.lo, int64_t(15));
    QCOMPARE(a.counts.size(), size_t(31));
    QCOMPARE(occupiedBins(a), 1);
    QCOMPARE(a.counts[size_t(30 - 15)], int64_t(100));
    QVERIFY(occupiedBins(b) > 20);
    QCOMPARE(a.total(), int64_t(100));
    QCOMPARE(b.total(), int64_t(100));
    QCOMPARE(shared.highestCount, int64_t(100));
    // The same binning as integerHistogram on the union's extremes, also for wide ranges.
    const auto wide = sharedHistograms({{0, 1000}, {500}});
    const auto alone = integerHistogram({0, 1000});
    QCOMPARE(wide.histograms[1].lo, alone.lo);
    QCOMPARE(wide.histograms[1].width, alone.width);
    QCOMPARE(wide.histograms[1].counts.size(), alone.counts.size());
    QCOMPARE(wide.histograms[1].total(), int64_t(1));
    // A run without values gets empty bins of the same range; nothing at all gives empty histograms.
    const auto partly = sharedHistograms({{}, {3, 4}});
    QCOMPARE(partly.histograms[0].counts, (std::vector<int64_t>{0, 0}));
    const auto none = sharedHistograms({{}, {}});
    QVERIFY(none.histograms[0].counts.empty());
    QCOMPARE(none.highestCount, int64_t(0));
}

QTEST_GUILESS_MAIN(TestStudioLogic)
#include "test_studio_logic.moc"
