// Mask pictures: colours of active, pruned, regrown and ablated entries; sizes; PNG and video files.
#include <QtTest>

#include "sessions/mask/mask_blocks.hpp"
#include "sessions/render/mask_renderer.hpp"
#include "sessions/store/store_error.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <random>

using namespace srigl;
using namespace srigl::sessions;

namespace {

LayerMaskSnapshot snapshot(int64_t rows, int64_t cols, const std::vector<int>& on, std::vector<int64_t> ablated = {}) {
    LayerMaskSnapshot s;
    s.name = "fc";
    s.outFeatures = rows;
    s.fanIn = cols;
    s.bits.assign(static_cast<size_t>((rows * cols + 7) / 8), 0);
    for (int i : on) s.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
    s.ablated = std::move(ablated);
    return s;
}

// Three connections per neuron at random inputs (a few may coincide), none in ablated neurons' rows.
LayerMaskSnapshot sparseMask(int64_t rows, int64_t cols, std::mt19937& rng, std::vector<int64_t> ablated = {}) {
    std::vector<int> on;
    for (int64_t r = 0; r < rows; ++r) {
        if (std::find(ablated.begin(), ablated.end(), r) != ablated.end()) continue;
        for (int j = 0; j < 3; ++j) on.push_back(static_cast<int>(r * cols + static_cast<int64_t>(rng() % cols)));
    }
    return snapshot(rows, cols, on, std::move(ablated));
}

std::array<uint8_t, 3> pixel(const RgbImage& img, int x, int y) {
    const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(img.width) + static_cast<size_t>(x)) * 3;
    return {img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]};
}

std::array<uint8_t, 3> colour(const uint8_t (&c)[3]) { return {c[0], c[1], c[2]}; }

} // namespace

class TestMaskRenderer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void coloursEachKindOfEntry();
    void magnifiesSmallAndShrinksLargeMasks();
    void largeSparseMasksAreBrightenedAsInTheInspector();
    void sequencesShareOneBrightening();
    void writesPngThatReadsBack();
    void writesVideoWithOneFramePerSnapshot();
    void badPathsGiveClearErrors();
};

void TestMaskRenderer::coloursEachKindOfEntry() {
    // 3 neurons x 4 inputs. Before: entries 0, 1, 5. After: 0 (kept), 2 (regrown), neuron 1 ablated.
    auto before = snapshot(3, 4, {0, 1, 5});
    auto after = snapshot(3, 4, {0, 2}, {1});
    MaskPalette pal;
    auto img = renderMask(after, &before, /*minSide=*/4);
    QCOMPARE(img.width, 4);
    QCOMPARE(img.height, 3);
    QVERIFY(pixel(img, 0, 0) == colour(pal.active));
    QVERIFY(pixel(img, 1, 0) == colour(pal.pruned));
    QVERIFY(pixel(img, 2, 0) == colour(pal.regrown));
    QVERIFY(pixel(img, 3, 0) == colour(pal.inactive));
    QVERIFY(pixel(img, 1, 1) == colour(pal.pruned));     // entry 5 dropped with its neuron
    QVERIFY(pixel(img, 0, 1) == colour(pal.ablatedRow)); // the rest of the ablated row
    QVERIFY(pixel(img, 0, 2) == colour(pal.inactive));
    // Without a previous snapshot nothing is pruned or regrown.
    auto plain = renderMask(after, nullptr, 4);
    QVERIFY(pixel(plain, 2, 0) == colour(pal.active));
}

void TestMaskRenderer::magnifiesSmallAndShrinksLargeMasks() {
    auto small = snapshot(10, 30, {0});
    auto img = renderMask(small, nullptr, 512, 2048);
    QCOMPARE(img.width, 30 * 18);
    QCOMPARE(img.height, 10 * 18);
    auto large = snapshot(100, 5000, {});
    // Blocks of 1 neuron x ceil(5000 / 2000) = 3 inputs, one pixel each (the last ones partial): only
    // the side longer than the picture is shrunk.
    auto shrunk = renderMask(large, nullptr, 512, 2000);
    QCOMPARE(shrunk.width, 1667);
    QCOMPARE(shrunk.height, 100);
    // Both sides longer: each shrunk by its own factor (3 neurons x 2 inputs a block).
    auto both = renderMask(snapshot(5000, 3000, {}), nullptr, 512, 2000);
    QCOMPARE(both.width, 1500);
    QCOMPARE(both.height, 1667);
}

void TestMaskRenderer::largeSparseMasksAreBrightenedAsInTheInspector() {
    // 4000 neurons x 300 inputs at 99%: 3 connections per neuron, spread so that no 4 x 4 block holds
    // more than a few. An area average would draw every pixel within a fifth of the way from the
    // inactive colour to the active one; brightened, the densest block is the active colour itself.
    const int64_t rows = 4000, cols = 300;
    std::mt19937 rng(7);
    auto draw = [&](std::vector<int64_t> ablated) { return sparseMask(rows, cols, rng, std::move(ablated)); };
    const MaskPalette pal;
    const auto first = draw({});
    const auto img = renderMask(first, nullptr, 16, 1000);
    QCOMPARE(img.width, 300); // blocks of ceil(4000 / 1000) = 4 neurons x 1 input
    QCOMPARE(img.height, 1000);
    uint8_t brightest = 0;
    for (size_t i = 0; i < img.pixels.size(); i += 3) brightest = std::max(brightest, img.pixels[i]);
    QCOMPARE(brightest, pal.active[0]);

    // Exactly the inspector's block colours, with pruned, regrown and ablated neurons too.
    const auto second = draw({5, 17, 3999});
    const auto changed = renderMask(second, &first, 16, 1000);
    const std::vector<uint8_t> rgba = MaskBlocks(second, &first, 4, 1).rgba(pal);
    QCOMPARE(static_cast<size_t>(changed.width * changed.height) * 4, rgba.size());
    for (size_t p = 0; p < rgba.size() / 4; ++p)
        for (size_t ch = 0; ch < 3; ++ch) QCOMPARE(changed.pixels[p * 3 + ch], rgba[p * 4 + ch]);

    // A malformed snapshot is a StoreError on this path as on the exact one.
    auto bad = second;
    bad.ablated.push_back(rows);
    QVERIFY_EXCEPTION_THROWN(renderMask(bad, &first, 16, 1000), StoreError);
    QVERIFY_EXCEPTION_THROWN(renderMask(second, &first, 16, 0), StoreError);
}

void TestMaskRenderer::sequencesShareOneBrightening() {
    // 4000 x 2100 is drawn in blocks of 2 x 2 (both sides longer than 2048). Frame 0 has one fully
    // active block, frame 1 prunes it (still fully touched), frame 2 is frame 1 again: on its own its
    // densest block is half touched at most, but it is drawn with the sequence's brightening.
    const int cols = 2100;
    std::mt19937 rng(11);
    auto plain = sparseMask(4000, cols, rng);
    auto dense = plain;
    for (int i : {0, 1, cols, cols + 1}) dense.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
    for (int i : {0, 1, cols, cols + 1}) plain.bits[static_cast<size_t>(i / 8)] &= static_cast<uint8_t>(~(1u << (i % 8)));
    const std::vector<LayerMaskSnapshot> frames{dense, plain, plain};
    const MaskBlocks last(plain, &plain, 2, 2);
    QVERIFY(last.densestShare() < 1.0); // else the test could not tell the two brightenings apart
    const std::vector<uint8_t> shared = last.rgba({}, 1, 1, 1.0), own = last.rgba();
    QVERIFY(shared != own);

    QTemporaryDir dir;
    const QString folder = dir.filePath("frames");
    writeMaskFrames(folder.toStdString(), "fc", frames, {0, 10, 20});
    const cv::Mat png = cv::imread(QDir(folder).filePath("fc_0002_step20.png").toStdString(), cv::IMREAD_COLOR);
    QCOMPARE(png.cols, cols / 2);
    QCOMPARE(png.rows, 2000);
    for (int y = 0; y < png.rows; ++y)
        for (int x = 0; x < png.cols; ++x) {
            const auto bgr = png.at<cv::Vec3b>(y, x);
            const size_t p = (static_cast<size_t>(y) * static_cast<size_t>(cols / 2) + static_cast<size_t>(x)) * 4;
            QCOMPARE(bgr[2], shared[p]);
            QCOMPARE(bgr[1], shared[p + 1]);
            QCOMPARE(bgr[0], shared[p + 2]);
        }
    // A single picture of that frame keeps its own brightening.
    const RgbImage alone = renderMask(plain, &plain);
    for (size_t p = 0; p < own.size() / 4; ++p) QCOMPARE(alone.pixels[p * 3], own[p * 4]);
}

void TestMaskRenderer::writesPngThatReadsBack() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("m.png").toStdString();
    auto img = renderMask(snapshot(3, 4, {0, 7}), nullptr, 4);
    writeImage(path, img);
    cv::Mat back = cv::imread(path);
    QCOMPARE(back.cols, 4);
    QCOMPARE(back.rows, 3);
    const auto bgr = back.at<cv::Vec3b>(0, 0);
    MaskPalette pal;
    QCOMPARE(int(bgr[2]), int(pal.active[0]));
}

void TestMaskRenderer::writesVideoWithOneFramePerSnapshot() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("m.avi").toStdString();
    std::vector<LayerMaskSnapshot> frames = {snapshot(8, 16, {0, 1}), snapshot(8, 16, {1, 2}), snapshot(8, 16, {2, 3})};
    writeMaskVideo(path, frames);
    cv::VideoCapture cap(path);
    QVERIFY(cap.isOpened());
    int count = 0;
    cv::Mat frame;
    while (cap.read(frame)) ++count;
    QCOMPARE(count, 3);
}

void TestMaskRenderer::badPathsGiveClearErrors() {
    auto img = renderMask(snapshot(3, 4, {0}), nullptr, 4);
    try {
        writeImage("/nonexistent/dir/m.png", img);
        QFAIL("expected StoreError");
    } catch (const StoreError& e) {
        QVERIFY(QString(e.what()).contains("/nonexistent/dir/m.png"));
    }
    QVERIFY_EXCEPTION_THROWN(writeMaskVideo("/tmp/x.avi", {}), StoreError);
    auto truncated = snapshot(3, 4, {0});
    truncated.bits.clear();
    QVERIFY_EXCEPTION_THROWN(renderMask(truncated, nullptr), StoreError);
}

QTEST_GUILESS_MAIN(TestMaskRenderer)
#include "test_mask_renderer.moc"
