// The structure views fed with the logic's results of hand-built masks: the degree histograms
// (bars, summary, two runs on one scale), the input connectivity pictures (pixels at known
// positions, the change, a neuron's receptive field) and a neuron's drill-down (series, ablated
// markers, what was not recorded). Each view is grabbed to build/structure-views/*.png to look at.
#include "tests/support/hand_masks.hpp"
#include "widgets/common/xy_chart.hpp"
#include "widgets/logic/degree_histograms.hpp"
#include "widgets/logic/input_connectivity.hpp"
#include "widgets/logic/neuron_history.hpp"
#include "widgets/structure/degree_histogram_view.hpp"
#include "widgets/structure/grid_picture_view.hpp"
#include "widgets/structure/histogram_chart.hpp"
#include "widgets/structure/input_connectivity_view.hpp"
#include "widgets/structure/neuron_drilldown_panel.hpp"

#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QDir>
#include <QSignalSpy>
#include <QValueAxis>
#include <QtTest>

#include <cmath>
#include <random>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

// Every row keeps k inputs drawn by weight (a bump in the middle of a 28 x 28 image for the first
// layer, flat otherwise): what a trained MNIST layer looks like, border pixels left unread.
LayerMaskSnapshot drawnMask(const std::string& name, int64_t out, int64_t fanIn, int64_t k, uint32_t seed,
                            bool centred = false) {
    auto m = emptyMask(name, out, fanIn);
    std::mt19937 gen(seed);
    std::vector<double> weight(static_cast<size_t>(fanIn), 1.0);
    if (centred)
        for (int64_t c = 0; c < fanIn; ++c) {
            const double y = c / 28 - 13.5, x = c % 28 - 13.5;
            weight[static_cast<size_t>(c)] = std::exp(-(x * x + y * y) / 60.0);
        }
    for (int64_t r = 0; r < out; ++r) {
        auto w = weight;
        for (int64_t j = 0; j < k; ++j) {
            std::discrete_distribution<int64_t> pick(w.begin(), w.end());
            const int64_t c = pick(gen);
            set(m, r, c);
            w[static_cast<size_t>(c)] = 0.0;
        }
    }
    return m;
}

QString shotPath(const QString& file) {
    const QString dir = QStringLiteral(SRIGL_TEST_BINARY_DIR "/structure-views");
    QDir().mkpath(dir);
    return QDir(dir).filePath(file);
}

void show(QWidget& w, int width, int height) {
    w.resize(width, height);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
}

std::vector<qreal> barValues(const HistogramChart* chart) {
    auto* series = qobject_cast<QBarSeries*>(chart->chart()->series().value(0));
    std::vector<qreal> out;
    if (!series || series->barSets().isEmpty()) return out;
    const auto* set = series->barSets().first();
    for (int i = 0; i < set->count(); ++i) out.push_back(set->at(i));
    return out;
}

qreal countAxisMax(const HistogramChart* chart) {
    const auto axes = chart->chart()->axes(Qt::Vertical);
    auto* y = axes.isEmpty() ? nullptr : qobject_cast<QValueAxis*>(axes.first());
    return y ? y->max() : -1.0;
}

QColor colour(Rgba c) { return QColor(c.r, c.g, c.b, c.a); }

} // namespace

class TestStructureViews : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void degreeViewShowsOneBarForConstantFanIn();
    void degreeViewShowsTwoRunsOnOneScale();
    void inputViewShowsConnectionsChangeAndReceptiveField();
    void inputViewOnAConvFirstLayer();
    void drilldownShowsTheHistoryAndWhatWasNotRecorded();
};

void TestStructureViews::degreeViewShowsOneBarForConstantFanIn() {
    // fc2: 100 neurons x 300 inputs, k = 30; fc3 (10 x 100) never reads neurons 0-4.
    auto fc2 = drawnMask("fc2", 100, 300, 30, 1);
    auto fc3 = emptyMask("fc3", 10, 100);
    for (int64_t r = 0; r < 10; ++r)
        for (int64_t c = 5; c < 100; c += 1 + r % 3) set(fc3, r, c);
    const auto degrees = layerDegrees(fc2);
    const auto use = nextLayerUse(fc2, fc3);

    DegreeHistogramView view;
    view.setData(degrees, use, QStringLiteral("run 1 (SRigL)"));
    show(view, 700, 760);
    QCOMPARE(view.columns(), 1);
    QCOMPARE(view.fanInChart()->bars().size(), size_t(1));
    QCOMPARE(view.fanInChart()->bars()[0].label, QStringLiteral("30"));
    QCOMPARE(barValues(view.fanInChart()), std::vector<qreal>{100.0});
    int64_t shown = 0;
    for (const auto& bar : view.outDegreeChart()->bars()) shown += bar.count;
    QCOMPARE(shown, int64_t(100));
    QCOMPARE(barValues(view.outDegreeChart()).front(), 5.0); // the 5 unread neurons at out-degree 0
    const QString summary = view.summaryText();
    QVERIFY2(summary.contains(QStringLiteral("constant fan-in 30")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("Unused: 5 neurons (5.0 %)")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("150 weights")), qPrintable(summary));
    QVERIFY(view.headingText().startsWith(QStringLiteral("run 1 (SRigL)")));
    QVERIFY(view.grab().save(shotPath(QStringLiteral("degree_histograms.png"))));

    // Without a next layer the out-degree is the layer's inputs'.
    view.setData(degrees);
    QVERIFY(view.summaryText().contains(QStringLiteral("Out-degree of the 300 inputs")));
    QVERIFY(!view.summaryText().contains(QStringLiteral("sampled")));
    {
        // A layer too large to snapshot whole says its counts are of a sample.
        LayerDegrees sampled = degrees;
        sampled.rowStride = 64;
        sampled.layerOutFeatures = degrees.outFeatures * 64;
        DegreeHistogramView other;
        other.setData(sampled);
        const QString text = other.summaryText();
        QVERIFY2(text.contains(QStringLiteral("%1 of its %2 neurons (every 64th)")
                                   .arg(degrees.outFeatures)
                                   .arg(degrees.outFeatures * 64)) &&
                     text.contains(QStringLiteral("every sampled neuron")) &&
                     text.contains(QStringLiteral("(into the sampled neurons only)")),
                 qPrintable(text));
    }
    shown = 0;
    for (const auto& bar : view.outDegreeChart()->bars()) shown += bar.count;
    QCOMPARE(shown, int64_t(300));
}

void TestStructureViews::degreeViewShowsTwoRunsOnOneScale() {
    // RigL-like: the same budget spread unevenly (fan-in 15..45), beside SRigL's constant 30.
    auto rigl = emptyMask("fc2", 100, 300);
    for (int64_t r = 0; r < 100; ++r)
        for (int64_t c = 0; c < 15 + (r * 7) % 31; ++c) set(rigl, r, (c * 11 + r) % 300);
    auto srigl = drawnMask("fc2", 100, 300, 30, 2);
    srigl.ablated = {};
    DegreeHistogramView view;
    view.setData(layerDegrees(rigl), std::nullopt, QStringLiteral("run 1 (RigL)"));
    view.setComparison(layerDegrees(srigl), std::nullopt, QStringLiteral("run 2 (SRigL)"));
    show(view, 1200, 760);
    QCOMPARE(view.columns(), 2);
    QVERIFY(view.fanInChart(0)->bars().size() > 20);
    QCOMPARE(view.fanInChart(1)->bars().size(), size_t(1));
    QVERIFY(!view.summaryText(0).contains(QStringLiteral("constant")));
    QVERIFY(view.summaryText(1).contains(QStringLiteral("constant fan-in 30")));
    // One count scale: the spike's 100 neurons bound both fan-in axes.
    QCOMPARE(countAxisMax(view.fanInChart(0)), countAxisMax(view.fanInChart(1)));
    QVERIFY(countAxisMax(view.fanInChart(0)) >= 100.0);
    QVERIFY(view.grab().save(shotPath(QStringLiteral("degree_histograms_compare.png"))));
    view.clearComparison();
    QCOMPARE(view.columns(), 1);
}

void TestStructureViews::inputViewShowsConnectionsChangeAndReceptiveField() {
    // Since the previous snapshot: pixel (5, 7), read by nobody before, gained 3 connections, and
    // the centre lost one.
    const int64_t gained = 5 * 28 + 7, centre = 14 * 28 + 14;
    auto before = drawnMask("fc1", 300, 784, 78, 3, true);
    for (int64_t r = 0; r < 300; ++r) clear(before, r, gained);
    auto now = before;
    for (int64_t r : {0, 1, 2}) set(now, r, gained);
    int64_t dropped = -1;
    for (int64_t r = 0; r < 300 && dropped < 0; ++r)
        if (isSet(now, r, centre)) {
            clear(now, r, centre);
            dropped = r;
        }
    QVERIFY(dropped >= 0);
    const auto ic = inputConnectivity(now, *inputShapeForDataset("mnist"), &before);
    int64_t active = 0;
    for (int64_t i = 0; i < now.outFeatures * now.fanIn; ++i) active += isSet(now, i / now.fanIn, i % now.fanIn);
    std::vector<float> weights(static_cast<size_t>(active));
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = std::sin(0.37f * static_cast<float>(i));

    InputConnectivityView view;
    QSignalSpy neuronSpy(&view, &InputConnectivityView::neuronChanged);
    view.setData(ic, now, weights);
    show(view, 900, 900);
    const auto* counts = view.connectionsPicture();
    QCOMPARE(counts->image().size(), QSize(28, 28));
    QCOMPARE(counts->scale(), 8);
    QCOMPARE(counts->highText(), QStringLiteral("max %1").arg(ic.maxConnections));
    const double top = static_cast<double>(ic.maxConnections);
    QCOMPARE(counts->image().pixelColor(7, 5),
             colour(colourAt(ColourMap::Sequential, ic.connections.at(0, 5, 7) / top)));
    QCOMPARE(counts->image().pixelColor(0, 0),
             colour(colourAt(ColourMap::Sequential, ic.connections.at(0, 0, 0) / top)));
    QVERIFY(view.summaryText().contains(QStringLiteral("of 784 pixels are read by no connection")));

    const auto* change = view.changePicture();
    QCOMPARE(change->image().size(), QSize(28, 28));
    QCOMPARE(ic.maxAbsChange, int64_t(3));
    QCOMPARE(change->image().pixelColor(7, 5), colour(colourAt(ColourMap::Diverging, 1.0)));         // +3: full red
    QCOMPARE(change->image().pixelColor(14, 14), colour(colourAt(ColourMap::Diverging, 1.0 / 3.0))); // -1
    QCOMPARE(change->image().pixelColor(27, 27), colour(colourAt(ColourMap::Diverging, 0.5)));       // unchanged
    QVERIFY(change->caption().contains(QStringLiteral("3 connections gained, 1 lost")));

    // Neuron 1 reads pixel (5, 7) now; the weights picture shows its weights there.
    view.setNeuron(1);
    QCOMPARE(view.neuron(), 1);
    QCOMPARE(neuronSpy.count(), 1);
    const auto field = receptiveField(ic.layout, now, 1, &weights);
    QCOMPARE(view.fieldMaskPicture()->image().pixelColor(7, 5), colour(colourAt(ColourMap::Sequential, 1.0)));
    int64_t unread = -1;
    for (int64_t p = 0; p < 784 && unread < 0; ++p)
        if (!field.mask.shown(0, p / 28, p % 28)) unread = p;
    QCOMPARE(view.fieldMaskPicture()->image().pixelColor(static_cast<int>(unread % 28), static_cast<int>(unread / 28)),
             colour(kMaskedOutColour));
    QCOMPARE(view.fieldWeightsPicture()->image().pixelColor(7, 5),
             colour(renderSigned(*field.weights, field.maxAbsWeight).pixel(7, 5)));
    QVERIFY(!(colour(renderSigned(*field.weights, field.maxAbsWeight).pixel(7, 5)) == colour(kMaskedOutColour)));
    QVERIFY(view.fieldMaskPicture()->caption().startsWith(QStringLiteral("Neuron 1: fan-in %1").arg(field.fanIn)));
    QVERIFY(view.grab().save(shotPath(QStringLiteral("input_connectivity.png"))));

    // Without weights or a previous snapshot the pictures say so.
    view.setData(inputConnectivity(now, {1, 28, 28}), now);
    QVERIFY(view.fieldWeightsPicture()->image().isNull());
    QVERIFY(view.changePicture()->image().isNull());
    QCOMPARE(view.neuron(), 1); // the chosen neuron stays
}

void TestStructureViews::inputViewOnAConvFirstLayer() {
    // LeNet-5's conv1 on CIFAR: 6 filters of 3 x 5 x 5, 30 connections each.
    auto conv = drawnMask("conv1", 6, 75, 30, 4);
    const auto ic = inputConnectivity(conv, {3, 32, 32}, nullptr, {6, 3, 5, 5});
    InputConnectivityView view;
    view.setData(ic, conv, std::vector<float>(180, 0.5f));
    show(view, 900, 900);
    const auto& image = view.connectionsPicture()->image();
    QCOMPARE(image.size(), QSize(3 * 5 + 2 * kPlaneGap, 5));
    QCOMPARE(image.pixelColor(5, 0).alpha(), 0); // the gap between channel planes
    QCOMPARE(
        image.pixelColor(6 + 2, 3),
        colour(colourAt(ColourMap::Sequential, ic.connections.at(1, 3, 2) / static_cast<double>(ic.maxConnections))));
    QVERIFY(view.summaryText().contains(QStringLiteral("conv 5 x 5")));
    QVERIFY(view.grab().save(shotPath(QStringLiteral("input_connectivity_conv.png"))));
}

void TestStructureViews::drilldownShowsTheHistoryAndWhatWasNotRecorded() {
    // fc1 (6 x 10, k = 3) over 6 updates; neuron 2 is ablated at steps 300 and 400, and fc2 stops
    // reading it from step 200. Weights at every step, gradients from step 100 on.
    std::vector<MaskRecord> masks;
    std::vector<WeightValuesRecord> weights;
    std::vector<GradientRecord> gradients;
    SalienceParams params;
    params.gammaSal = 0.5;
    for (int64_t step = 0; step <= 500; step += 100) {
        auto fc1 = emptyMask("fc1", 6, 10);
        const bool off = step == 300 || step == 400;
        for (int64_t r = 0; r < 6; ++r) {
            if (r == 2 && off) continue;
            for (int64_t j = 0; j < 3; ++j) set(fc1, r, (r + j * 3 + step / 100) % 10);
        }
        if (off) fc1.ablated = {2};
        auto fc2 = emptyMask("fc2", 4, 6);
        for (int64_t r = 0; r < 4; ++r)
            for (int64_t c = 0; c < 6; ++c)
                if (c != 2 || step < 200) set(fc2, r, c);
        MaskRecord a, b;
        a.step = b.step = step;
        a.mask = fc1;
        b.mask = fc2;
        masks.push_back(a);
        masks.push_back(b);
        const size_t active = off ? 15 : 18;
        std::vector<float> w(active);
        for (size_t i = 0; i < active; ++i) w[i] = 0.1f * static_cast<float>((i * 7 + step / 100) % 11) - 0.5f;
        weights.push_back({step, "fc1", w});
        if (step > 0) {
            std::vector<float> g(60);
            for (size_t i = 0; i < g.size(); ++i) g[i] = 0.01f * static_cast<float>((i * 5 + step / 100) % 13);
            gradients.push_back({step, "fc1", 6, 10, g});
            params.dropFraction[step] = 0.3;
        }
    }
    const auto history = neuronHistory(masks, weights, gradients, "fc1", 2, params, {"fc2", {}});

    NeuronDrilldownPanel panel;
    panel.setHistory(history);
    show(panel, 1100, 520);
    QCOMPARE(panel.headingText(), QStringLiteral("fc1, neuron 2"));
    QCOMPARE(panel.connectionsChart()->seriesCount(), 2); // fan-in and out-degree in fc2
    const auto& fanIn = panel.connectionsChart()->series()[0].points;
    QCOMPARE(fanIn.size(), size_t(6));
    QCOMPARE(fanIn[3].value, 0.0);
    QCOMPARE(fanIn[0].value, 3.0);
    const auto& out = panel.connectionsChart()->series()[1].points;
    QCOMPARE(out[1].value, 4.0);
    QCOMPARE(out[2].value, 0.0);
    QCOMPARE(panel.ablatedMarkers(), 2);
    QCOMPARE(panel.weightNormChart()->series()[0].points.size(), size_t(6));
    // Salience: not recorded at step 0 (no gradient), so no point there; a threshold line beside it.
    QCOMPARE(panel.salienceChart()->seriesCount(), 2);
    QVERIFY(std::isnan(panel.salienceChart()->series()[0].points[0].value));
    QVERIFY(!std::isnan(panel.salienceChart()->series()[0].points[1].value));
    const QString summary = panel.summaryText();
    QVERIFY2(summary.contains(QStringLiteral("Ablated at steps 300, 400")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("Salience: not recorded at steps 0 (no gradient, drop fraction)")),
             qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("Outgoing: 0 connections of fc2 read it")), qPrintable(summary));
    QVERIFY(panel.grab().save(shotPath(QStringLiteral("neuron_drilldown.png"))));

    // Nothing recorded but masks: the charts stay empty and the summary says why.
    panel.setHistory(neuronHistory(masks, {}, {}, "fc1", 2));
    QCOMPARE(panel.ablatedMarkers(), 2);
    QVERIFY(panel.summaryText().contains(QStringLiteral("Weight norm: weights not recorded")));
    QVERIFY(panel.summaryText().contains(QStringLiteral("Salience: not recorded (needs")));
    QCOMPARE(panel.connectionsChart()->seriesCount(), 1);
}

QTEST_MAIN(TestStructureViews)
#include "test_structure_views.moc"
