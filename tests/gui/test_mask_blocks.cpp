// The mask inspector's Qt-free layout and aggregation: blocks of a layer count every connection
// once in the states the inspector colours (their sums are the layer's), their colours are the mean
// of their connections' colours (brightened to the densest block); Fit aggregates no more than the
// view needs, fills a 560 x 800 view with a 300 x 784 layer and keeps cells between 1:4 and 4:1, and
// single connections come back at a pixel per entry; the neuron tiles' shapes, grid and atlas.
// Links srigl_studio_logic alone (no Widgets, no Torch).
#include "tests/support/hand_masks.hpp"
#include "sessions/mask/mask_blocks.hpp"
#include "widgets/logic/mask_fit.hpp"
#include "widgets/logic/neuron_tiles.hpp"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <stdexcept>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

// A layer like fc1 after an update: each row keeps k random inputs, and `changed` of them move.
struct Step {
    LayerMaskSnapshot previous, current;
};

Step randomStep(int64_t rows, int64_t cols, int64_t k, int64_t changed, uint32_t seed,
                std::vector<int64_t> ablated = {}) {
    std::mt19937 rng(seed);
    Step s{emptyMask("fc1", rows, cols), emptyMask("fc1", rows, cols)};
    std::vector<int64_t> order(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        if (std::find(ablated.begin(), ablated.end(), r) != ablated.end()) {
            set(s.previous, r, 0); // active before the ablation: pruned now
            continue;
        }
        for (int64_t c = 0; c < cols; ++c) order[static_cast<size_t>(c)] = c;
        std::shuffle(order.begin(), order.end(), rng);
        for (int64_t j = 0; j < k; ++j) set(s.previous, r, order[static_cast<size_t>(j)]);
        for (int64_t j = changed; j < k + changed; ++j) set(s.current, r, order[static_cast<size_t>(j)]);
    }
    s.current.ablated = std::move(ablated);
    return s;
}

struct Counts {
    int64_t kept = 0, pruned = 0, regrown = 0;
    bool operator==(const Counts& o) const { return kept == o.kept && pruned == o.pruned && regrown == o.regrown; }
    Counts& operator+=(const Counts& o) {
        kept += o.kept;
        pruned += o.pruned;
        regrown += o.regrown;
        return *this;
    }
};

Counts countsOf(const MaskBlock& b) { return Counts{b.kept, b.pruned, b.regrown}; }

Counts countsIn(const Step& s, int64_t row0, int64_t rows, int64_t col0, int64_t cols) {
    Counts n;
    for (int64_t r = row0; r < row0 + rows; ++r)
        for (int64_t c = col0; c < col0 + cols; ++c) {
            const bool now = isSet(s.current, r, c), before = isSet(s.previous, r, c);
            n.kept += now && before;
            n.pruned += before && !now;
            n.regrown += now && !before;
        }
    return n;
}

// The colour the inspector's exact picture gives one connection (MaskInspection::rgba).
const uint8_t* entryColour(const Step& s, const MaskPalette& p, int64_t r, int64_t c) {
    const bool now = isSet(s.current, r, c), before = isSet(s.previous, r, c);
    if (now) return before ? p.active : p.regrown;
    if (before) return p.pruned;
    const auto& a = s.current.ablated;
    return std::find(a.begin(), a.end(), r) != a.end() ? p.ablatedRow : p.inactive;
}

double fill(const MaskFit& f, double w, double h) { return f.width() * f.height() / (w * h); }

} // namespace

class TestMaskBlocks : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void blockCountsSumToTheLayer();
    void everyConnectionIsInExactlyOneBlock();
    void blockColoursAreTheMeanOfTheirConnections();
    void sparseBlocksAreBrightenedToTheDensest();
    void blocksRefuseBadInput();
    void fitAggregatesOnlyWhatTheViewCannotShow();
    void fitFillsTheViewWithAWideLayer();
    void fitKeepsCellsBetweenOneToFourAndFourToOne();
    void exactCellsOnceAnEntryHasAPixel();
    void tileShapesAreImagesOrNearSquares();
    void tileGridFillsTheViewAndFindsTheNeuron();
    void tileZoomKeepsTheInputUnderTheCursor();
    void atlasHoldsEachNeuronsRowAsItsTile();
    void atlasRefusesTilesLargerThanATexture();
};

void TestMaskBlocks::blockCountsSumToTheLayer() {
    const Step s = randomStep(300, 784, 78, 20, 1, {5, 6, 299});
    const Counts layer = countsIn(s, 0, 300, 0, 784);
    QVERIFY(layer.kept > 0 && layer.pruned > 0 && layer.regrown > 0);
    for (auto [rpc, cpc] :
         std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {1, 2}, {2, 3}, {7, 5}, {300, 784}, {64, 1}}) {
        const MaskBlocks b(s.current, &s.previous, rpc, cpc);
        QCOMPARE(b.gridRows(), (300 + rpc - 1) / rpc);
        QCOMPARE(b.gridCols(), (784 + cpc - 1) / cpc);
        Counts sum;
        int64_t ablated = 0;
        for (int64_t br = 0; br < b.gridRows(); ++br) {
            ablated += b.block(br, 0).ablatedRows;
            for (int64_t bc = 0; bc < b.gridCols(); ++bc) {
                const MaskBlock k = b.block(br, bc);
                sum += countsOf(k);
                // Each block's own counts are those of its connections.
                if ((br * 31 + bc) % 17 == 0) QVERIFY(countsOf(k) == countsIn(s, k.row0, k.rows, k.col0, k.cols));
            }
        }
        QVERIFY2(sum == layer, qPrintable(QStringLiteral("%1 x %2 blocks").arg(rpc).arg(cpc)));
        QCOMPARE(ablated, int64_t(3));
    }
    // The first snapshot: everything active is kept.
    const MaskBlocks first(s.current, nullptr, 3, 4);
    int64_t kept = 0;
    for (int64_t br = 0; br < first.gridRows(); ++br)
        for (int64_t bc = 0; bc < first.gridCols(); ++bc) {
            const MaskBlock k = first.block(br, bc);
            QCOMPARE(k.pruned + k.regrown, int64_t(0));
            kept += k.kept;
        }
    QCOMPARE(kept, 297 * int64_t(78));
}

void TestMaskBlocks::everyConnectionIsInExactlyOneBlock() {
    // 11 x 13 in blocks of 4 x 5: the last block row and column are partial.
    const Step s = randomStep(11, 13, 4, 1, 2);
    const MaskBlocks b(s.current, &s.previous, 4, 5);
    QCOMPARE(b.gridRows(), int64_t(3));
    QCOMPARE(b.gridCols(), int64_t(3));
    QCOMPARE(b.block(2, 2).rows, int64_t(3));
    QCOMPARE(b.block(2, 2).cols, int64_t(3));
    std::vector<int> covered(11 * 13, 0);
    for (int64_t br = 0; br < 3; ++br)
        for (int64_t bc = 0; bc < 3; ++bc) {
            const MaskBlock k = b.block(br, bc);
            for (int64_t r = k.row0; r < k.row0 + k.rows; ++r)
                for (int64_t c = k.col0; c < k.col0 + k.cols; ++c) {
                    ++covered[static_cast<size_t>(r * 13 + c)];
                    QCOMPARE(b.blockOf(r, c).row0, k.row0); // the block that holds the connection
                    QCOMPARE(b.blockOf(r, c).col0, k.col0);
                }
        }
    QVERIFY(std::all_of(covered.begin(), covered.end(), [](int n) { return n == 1; }));
}

void TestMaskBlocks::blockColoursAreTheMeanOfTheirConnections() {
    // Row 0 fully active before and now: a block there is fully touched, so nothing is brightened
    // and every block's colour is the plain mean of its connections' colours.
    Step s = randomStep(12, 20, 6, 3, 3, {7});
    for (int64_t c = 0; c < 20; ++c) {
        set(s.previous, 0, c);
        set(s.current, 0, c);
    }
    const MaskPalette p;
    const MaskBlocks b(s.current, &s.previous, 1, 4);
    QCOMPARE(b.densestShare(), 1.0);
    const auto rgba = b.rgba(p);
    QCOMPARE(rgba.size(), size_t(12 * 5 * 4));
    for (int64_t br = 0; br < b.gridRows(); ++br)
        for (int64_t bc = 0; bc < b.gridCols(); ++bc) {
            const MaskBlock k = b.block(br, bc);
            for (int ch = 0; ch < 3; ++ch) {
                double mean = 0;
                for (int64_t r = k.row0; r < k.row0 + k.rows; ++r)
                    for (int64_t c = k.col0; c < k.col0 + k.cols; ++c) mean += entryColour(s, p, r, c)[ch];
                mean /= static_cast<double>(k.entries());
                const int got = rgba[static_cast<size_t>((br * b.gridCols() + bc) * 4 + ch)];
                QVERIFY2(std::fabs(got - mean) <= 0.5 + 1e-9,
                         qPrintable(QStringLiteral("block %1,%2 channel %3: %4, mean %5")
                                        .arg(br)
                                        .arg(bc)
                                        .arg(ch)
                                        .arg(got)
                                        .arg(mean)));
            }
            QCOMPARE(int(rgba[static_cast<size_t>((br * b.gridCols() + bc) * 4 + 3)]), 255);
        }
    // Drawn with sharp edges, each block is several texels of its one colour.
    const auto wide = b.rgba(p, 3, 2);
    QCOMPARE(wide.size(), size_t(12 * 2 * 5 * 3 * 4));
    for (int64_t y = 0; y < 24; ++y)
        for (int64_t x = 0; x < 15; ++x)
            for (int ch = 0; ch < 4; ++ch)
                QCOMPARE(wide[static_cast<size_t>((y * 15 + x) * 4 + ch)],
                         rgba[static_cast<size_t>(((y / 2) * 5 + x / 3) * 4 + ch)]);
    // Exact blocks are the exact picture.
    const MaskBlocks one(s.current, &s.previous, 1, 1);
    const auto exact = one.rgba(p);
    for (int64_t r = 0; r < 12; ++r)
        for (int64_t c = 0; c < 20; ++c)
            for (int ch = 0; ch < 3; ++ch)
                QCOMPARE(exact[static_cast<size_t>((r * 20 + c) * 4 + ch)], entryColour(s, p, r, c)[ch]);
}

void TestMaskBlocks::sparseBlocksAreBrightenedToTheDensest() {
    // 4 x 8 in blocks of 2 x 4 (first snapshot): the densest block has 2 of 8 active, so it shows at
    // full active colour, a block with 1 of 8 halfway, an empty block in the inactive colour.
    auto m = emptyMask("fc1", 4, 8);
    setEach(m, {{0, 0}, {1, 1}, {0, 4}});
    const MaskPalette p;
    const MaskBlocks b(m, nullptr, 2, 4);
    QCOMPARE(b.densestShare(), 0.25);
    const auto rgba = b.rgba(p);
    for (int ch = 0; ch < 3; ++ch) {
        QCOMPARE(int(rgba[static_cast<size_t>(ch)]), int(p.active[ch]));
        QCOMPARE(int(rgba[static_cast<size_t>(4 + ch)]), int(std::lround((p.inactive[ch] + p.active[ch]) / 2.0)));
        QCOMPARE(int(rgba[static_cast<size_t>(8 + ch)]), int(p.inactive[ch]));
    }
    // An empty mask is all background, nothing divided by zero.
    const MaskBlocks empty(emptyMask("fc1", 4, 8), nullptr, 2, 2);
    QCOMPARE(empty.densestShare(), 0.0);
    const auto dark = empty.rgba(p);
    QCOMPARE(int(dark[0]), int(p.inactive[0]));
}

void TestMaskBlocks::blocksRefuseBadInput() {
    const auto m = emptyMask("fc1", 4, 8);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MaskBlocks(m, nullptr, 0, 1));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MaskBlocks(m, nullptr, 1, -2));
    const auto other = emptyMask("fc1", 8, 4);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MaskBlocks(m, &other, 1, 1));
    auto broken = m;
    broken.bits.pop_back();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, MaskBlocks(broken, nullptr, 1, 1));
    const MaskBlocks b(m, nullptr, 3, 3);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, b.block(2, 0));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, b.rgba({}, 0, 1));
}

void TestMaskBlocks::fitAggregatesOnlyWhatTheViewCannotShow() {
    struct Case {
        int64_t rows, cols;
        double width, height;
    };
    for (const Case& c : std::vector<Case>{{300, 784, 560, 800},
                                           {300, 784, 800, 560},
                                           {4096, 4096, 512, 512},
                                           {10, 100, 800, 400},
                                           {100, 300, 299.5, 99.7},
                                           {1, 100000, 1000, 300},
                                           {5000, 3, 300, 1000},
                                           {784, 784, 784, 784}}) {
        const MaskFit f = fitMask(c.rows, c.cols, c.width, c.height);
        const auto pxW = static_cast<int64_t>(std::floor(c.width)), pxH = static_cast<int64_t>(std::floor(c.height));
        const QString what = QStringLiteral("%1 x %2 in %3 x %4").arg(c.rows).arg(c.cols).arg(c.width).arg(c.height);
        // Enough to give every cell a pixel...
        QVERIFY2(f.gridCols <= pxW && f.gridRows <= pxH, qPrintable(what));
        QCOMPARE(f.gridCols, (c.cols + f.colsPerCell - 1) / f.colsPerCell);
        QCOMPARE(f.gridRows, (c.rows + f.rowsPerCell - 1) / f.rowsPerCell);
        // ...and one fewer would not be.
        if (f.colsPerCell > 1) QVERIFY2((c.cols + f.colsPerCell - 2) / (f.colsPerCell - 1) > pxW, qPrintable(what));
        if (f.rowsPerCell > 1) QVERIFY2((c.rows + f.rowsPerCell - 2) / (f.rowsPerCell - 1) > pxH, qPrintable(what));
        QVERIFY2(f.cellWidth >= 1.0 && f.cellHeight >= 1.0, qPrintable(what));
    }
    QCOMPARE(fitMask(300, 784, 560, 800).colsPerCell, int64_t(2));
    QCOMPARE(fitMask(300, 784, 560, 800).rowsPerCell, int64_t(1));
    QVERIFY(fitMask(300, 784, 800, 560).exact()); // 784 inputs fit in 800 pixels
    QCOMPARE(fitMask(4096, 4096, 512, 512).colsPerCell, int64_t(8));
    QVERIFY(fitMask(0, 10, 100, 100).gridRows == 0); // an empty layer: an empty grid
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, fitMask(-1, 10, 100, 100));
}

void TestMaskBlocks::fitFillsTheViewWithAWideLayer() {
    // fc1 of LeNet-300-100 in a tall dock and in a wide one: most of the view, not a band.
    for (auto [w, h] : std::vector<std::pair<double, double>>{{560, 800}, {800, 560}, {1200, 300}, {300, 1200}}) {
        const MaskFit f = fitMask(300, 784, w, h);
        QVERIFY2(fill(f, w, h) >= 0.8, qPrintable(QStringLiteral("%1 x %2: %3").arg(w).arg(h).arg(fill(f, w, h))));
        QVERIFY(f.width() <= w + 1e-9 && f.height() <= h + 1e-9);
    }
    // A small layer is no longer tiny: 10 x 100 in 800 x 400 is as large as the 1:4 bound allows.
    const MaskFit small = fitMask(10, 100, 800, 400);
    QVERIFY(small.exact());
    QCOMPARE(small.cellWidth, 8.0);
    QCOMPARE(small.cellHeight, 32.0);
    QVERIFY(fill(small, 800, 400) >= 0.8);
    // Old "Fit" (square cells) gave 300 x 784 in 560 x 800 a band of 560 x 214: 27%.
    QVERIFY(fill(fitMask(300, 784, 560, 800), 560, 800) > 0.99);
}

void TestMaskBlocks::fitKeepsCellsBetweenOneToFourAndFourToOne() {
    for (int64_t rows : {1, 3, 10, 100, 300, 784, 4096})
        for (int64_t cols : {1, 7, 100, 784, 3072, 100000})
            for (auto [w, h] : std::vector<std::pair<double, double>>{{560, 800}, {1000, 200}, {150, 900}, {40, 40}}) {
                const MaskFit f = fitMask(rows, cols, w, h);
                const double aspect = f.cellWidth / f.cellHeight;
                const QString what = QStringLiteral("%1 x %2 in %3 x %4: cell %5 x %6")
                                         .arg(rows)
                                         .arg(cols)
                                         .arg(w)
                                         .arg(h)
                                         .arg(f.cellWidth)
                                         .arg(f.cellHeight);
                QVERIFY2(aspect <= kMaxCellAspect + 1e-9 && aspect >= 1.0 / kMaxCellAspect - 1e-9, qPrintable(what));
                QVERIFY2(f.width() <= w + 1e-9 && f.height() <= h + 1e-9, qPrintable(what));
                QVERIFY2(f.pixelsPerCol() <= kMaxPixelsPerEntry + 1e-9 && f.pixelsPerRow() <= kMaxPixelsPerEntry + 1e-9,
                         qPrintable(what));
                // As large as the bounds allow: one side fills the view, or the aspect or the size
                // bound stops it.
                const bool fillsAxis = std::fabs(f.width() - w) < 1e-6 || std::fabs(f.height() - h) < 1e-6;
                const bool atBound = std::fabs(aspect - kMaxCellAspect) < 1e-9 ||
                                     std::fabs(aspect * kMaxCellAspect - 1) < 1e-9 ||
                                     std::fabs(f.pixelsPerCol() - kMaxPixelsPerEntry) < 1e-9 ||
                                     std::fabs(f.pixelsPerRow() - kMaxPixelsPerEntry) < 1e-9;
                QVERIFY2(fillsAxis || atBound, qPrintable(what));
            }
}

void TestMaskBlocks::exactCellsOnceAnEntryHasAPixel() {
    QCOMPARE(entriesPerCellAt(1.0), int64_t(1));
    QCOMPARE(entriesPerCellAt(7.5), int64_t(1));
    QCOMPARE(entriesPerCellAt(0.999), int64_t(2));
    QCOMPARE(entriesPerCellAt(0.5), int64_t(2));
    QCOMPARE(entriesPerCellAt(1.0 / 3.0), int64_t(3)); // not 4 from rounding
    QCOMPARE(entriesPerCellAt(0.0), int64_t(1));       // no scale: nothing to aggregate
    // Fit's own factors agree with its scales.
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{300, 784}, {4096, 4096}, {10, 100}, {1000, 3}}) {
        const MaskFit f = fitMask(rows, cols, 560, 400);
        QCOMPARE(entriesPerCellAt(f.pixelsPerCol()), f.colsPerCell);
        QCOMPARE(entriesPerCellAt(f.pixelsPerRow()), f.rowsPerCell);
    }
    QCOMPARE(entriesPerCellFor(784, 800), int64_t(1));
    QCOMPARE(entriesPerCellFor(784, 560), int64_t(2));
    QCOMPARE(entriesPerCellFor(784, 0.2), int64_t(784)); // under a pixel: one pixel
}

void TestMaskBlocks::tileShapesAreImagesOrNearSquares() {
    const NeuronTileShape mnist = neuronTileShape(784);
    QCOMPARE(mnist.planes, int64_t(1));
    QCOMPARE(mnist.height, int64_t(28));
    QCOMPARE(mnist.width, int64_t(28));
    const NeuronTileShape cifar = neuronTileShape(3072);
    QCOMPARE(cifar.planes, int64_t(3));
    QCOMPARE(cifar.height, int64_t(32));
    QCOMPARE(cifar.pixelWidth(), int64_t(3 * 32 + 2 * kPlaneGap));
    // Channel-major: input 1024 is the green plane's first pixel, right of the red plane and its gap.
    QCOMPARE(cifar.inputAt(32 + kPlaneGap, 0), int64_t(1024));
    QCOMPARE(cifar.inputAt(32, 0), int64_t(-1)); // the gap
    QCOMPARE(cifar.inputAt(31, 1), int64_t(63));
    const NeuronTileShape hidden = neuronTileShape(300);
    QCOMPARE(hidden.height * hidden.width, int64_t(300));
    QCOMPARE(hidden.height, int64_t(15));
    const NeuronTileShape prime = neuronTileShape(7);
    QCOMPARE(prime.width, int64_t(3));
    QCOMPARE(prime.height, int64_t(3));
    QCOMPARE(prime.inputAt(0, 2), int64_t(6));
    QCOMPARE(prime.inputAt(1, 2), int64_t(-1)); // past fan_in
    // Every input is drawn at exactly one place of its tile.
    for (int64_t fanIn : {1, 2, 3, 7, 100, 300, 784, 3072, 1000}) {
        const NeuronTileShape s = neuronTileShape(fanIn);
        std::vector<int> seen(static_cast<size_t>(fanIn), 0);
        for (int64_t y = 0; y < s.pixelHeight(); ++y)
            for (int64_t x = 0; x < s.pixelWidth(); ++x)
                if (const int64_t i = s.inputAt(x, y); i >= 0) ++seen[static_cast<size_t>(i)];
        QVERIFY2(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }),
                 qPrintable(QString::number(fanIn)));
        QVERIFY(s.pixelWidth() <= 3 * s.pixelHeight() + 2); // near-square (CIFAR: three planes)
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, neuronTileShape(0));
}

void TestMaskBlocks::tileGridFillsTheViewAndFindsTheNeuron() {
    // fc1: 300 pictures of 28 x 28 in a 560 x 800 view.
    const NeuronTileShape shape = neuronTileShape(784);
    const NeuronTileGrid g = layoutNeuronTiles(300, shape, 560, 800);
    QCOMPARE(g.columns * g.rows >= 300, true);
    QVERIFY(g.columns * (g.rows - 1) < 300); // no empty row of tiles
    const double used = static_cast<double>(g.columns) * g.tileWidth + static_cast<double>(g.columns - 1) * g.gap;
    const double usedDown = static_cast<double>(g.rows) * g.tileHeight + static_cast<double>(g.rows - 1) * g.gap;
    QVERIFY(used <= 560 + 1e-9 && usedDown <= 800 + 1e-9);
    const double tiles = 300.0 * g.tileWidth * g.tileHeight / (560.0 * 800.0);
    QVERIFY2(tiles >= 0.7, qPrintable(QString::number(tiles)));
    QCOMPARE(g.tileWidth, g.tileHeight); // square inputs, as in the image
    // Hit testing: the centre of every tile is its neuron, gaps and the empty end are no neuron.
    for (int64_t n = 0; n < 300; ++n)
        QCOMPARE(g.neuronAt(g.tileX(n) + g.tileWidth / 2, g.tileY(n) + g.tileHeight / 2), n);
    QCOMPARE(g.neuronAt(g.tileX(0) + g.tileWidth + g.gap / 2, g.tileY(0) + 1), int64_t(-1));
    QCOMPARE(g.neuronAt(g.originX - 1, g.originY + 1), int64_t(-1));
    if (g.columns * g.rows > 300)
        QCOMPARE(g.neuronAt(g.tileX(299) + g.tileWidth + g.gap + 1, g.tileY(299) + 1), int64_t(-1));
    // The input under a point: pixel (x = 5, y = 3) of neuron 17's tile is input 3 * 28 + 5.
    QCOMPARE(g.inputAt(shape, g.tileX(17) + (5.5 * g.scale), g.tileY(17) + 3.5 * g.scale), int64_t(3 * 28 + 5));
    // Many neurons: tiles touch rather than vanish between gaps.
    const NeuronTileGrid many = layoutNeuronTiles(4096, neuronTileShape(4096), 400, 300);
    QCOMPARE(many.gap, 0.0);
    QVERIFY(many.columns * many.rows >= 4096 && many.scale > 0);
    QCOMPARE(layoutNeuronTiles(0, shape, 100, 100).columns, int64_t(0));
}

void TestMaskBlocks::atlasHoldsEachNeuronsRowAsItsTile() {
    const int64_t rows = 300, cols = 784;
    std::vector<uint8_t> picture(static_cast<size_t>(rows * cols * 4));
    for (size_t i = 0; i < picture.size(); ++i) picture[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
    const NeuronTileShape shape = neuronTileShape(cols);
    const NeuronTileAtlas atlas = neuronTileAtlas(rows, shape, 128); // 4 x 4 tiles per texture
    QCOMPARE(atlas.across, int64_t(4));
    QCOMPARE(atlas.down, int64_t(4));
    QCOMPARE(atlas.textures, int64_t((300 + 15) / 16));
    std::set<std::tuple<int64_t, int64_t, int64_t>> slots;
    for (int64_t t = 0; t < atlas.textures; ++t) {
        const auto texels = atlasPixels(atlas, t, picture);
        const int64_t w = atlas.textureWidth(t);
        QVERIFY(w <= 128 && atlas.textureHeight(t) <= 128);
        QCOMPARE(texels.size(), size_t(w * atlas.textureHeight(t) * 4));
        for (int64_t n = t * atlas.perTexture(); n < std::min(rows, (t + 1) * atlas.perTexture()); n += 7) {
            QCOMPARE(atlas.textureOf(n), t);
            QVERIFY(slots.insert({t, atlas.texelX(n), atlas.texelY(n)}).second); // tiles do not overlap
            for (int64_t y = 0; y < 28; y += 3)
                for (int64_t x = 0; x < 28; x += 5) {
                    const size_t at = static_cast<size_t>(((atlas.texelY(n) + y) * w + atlas.texelX(n) + x) * 4);
                    const size_t from = static_cast<size_t>((n * cols + y * 28 + x) * 4);
                    QCOMPARE(texels[at], picture[from]);
                    QCOMPARE(texels[at + 3], picture[from + 3]);
                }
        }
    }
    // The last texture holds the rest: 300 - 18 * 16 = 12 tiles, three rows of four.
    QCOMPARE(atlas.textureHeight(atlas.textures - 1), int64_t(3 * 28));
    // Gaps between planes and the unused part are transparent.
    const NeuronTileAtlas cifar = neuronTileAtlas(2, neuronTileShape(3072), 4096);
    const auto texels = atlasPixels(cifar, 0, std::vector<uint8_t>(2 * 3072 * 4, 255));
    QCOMPARE(int(texels[static_cast<size_t>(32 * 4 + 3)]), 0);
    QCOMPARE(int(texels[static_cast<size_t>(31 * 4 + 3)]), 255);
}

void TestMaskBlocks::atlasRefusesTilesLargerThanATexture() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, neuronTileAtlas(10, neuronTileShape(3072), 64));
    const NeuronTileAtlas a = neuronTileAtlas(10, neuronTileShape(784), 64);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, atlasPixels(a, a.textures, std::vector<uint8_t>(10 * 784 * 4)));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, atlasPixels(a, 0, std::vector<uint8_t>(16)));
}

QTEST_GUILESS_MAIN(TestMaskBlocks)
// The tile view's wheel zoom keeps the neuron and input under the cursor, stops at
// kMaxPixelsPerEntry per input and never below the fit; a pan moves the grid; reset is the fit.
void TestMaskBlocks::tileZoomKeepsTheInputUnderTheCursor() {
    const NeuronTileShape shape = neuronTileShape(784);
    const NeuronTileGrid fitted = layoutNeuronTiles(300, shape, 560, 800);
    TileViewTransform t;
    QVERIFY(t.fitted());
    const double px = fitted.tileX(137) + fitted.tileWidth * 0.3, py = fitted.tileY(137) + fitted.tileHeight * 0.6;
    const int64_t input = fitted.inputAt(shape, px, py);
    QVERIFY(input >= 0);
    for (int i = 0; i < 5; ++i) {
        t.zoomAt(px, py, 1.25, maxTileZoom(fitted));
        const NeuronTileGrid g = t.apply(fitted);
        QCOMPARE(g.neuronAt(px, py), int64_t(137));
        QCOMPARE(g.inputAt(shape, px, py), input);
    }
    QVERIFY(t.apply(fitted).scale > fitted.scale * 3.0);
    t.zoomAt(px, py, 1e6, maxTileZoom(fitted));
    QCOMPARE(t.apply(fitted).scale, kMaxPixelsPerEntry);
    t.panBy(25.0, -10.0);
    const NeuronTileGrid moved = t.apply(fitted);
    t.panBy(-25.0, 10.0);
    QCOMPARE(moved.originX, t.apply(fitted).originX + 25.0);
    t.zoomAt(px, py, 1e-9, maxTileZoom(fitted)); // far out: the fit, exactly
    QVERIFY(t.fitted());
    QCOMPARE(t.apply(fitted).originX, fitted.originX);
    t.zoomAt(px, py, 0.0, 10.0); // a zero or negative factor changes nothing
    QVERIFY(t.fitted());
}

#include "test_mask_blocks.moc"
