// The mask inspector with real OpenGL, in a real (Xvfb) window: run by CTest under xvfb-run with the
// xcb platform. srigl-studio --demo trains the default session and its screenshot shows a mask in
// the inspector's region; and while a session trains, the inspector keeps rendering frames on the
// UI thread (frame times measured and printed; only a generous bound is asserted); a layer drawn as
// several texture tiles looks like the same layer drawn as one texture; a layer recorded as a sample
// of its rows is drawn from the store.
#include "tests/support/stored_runs.hpp"
#include "widgets/inspector/inspector_docks.hpp"
#include "widgets/inspector/snapshot_source.hpp"
#include "widgets/launch/config_form.hpp"
#include "widgets/launch/launcher_panel.hpp"
#include "widgets/live/live_session_panel.hpp"
#include "widgets/shell/main_window.hpp"
#include "widgets/inspector/mask_inspector_widget.hpp"
#include "widgets/live/session_controller.hpp"
#include "widgets/shell/studio_environment.hpp"
#include "widgets/common/theme.hpp"
#include "widgets/heatmap/weight_heatmap_panel.hpp"
#include "widgets/structure/structure_docks.hpp"
#include "widgets/sweeps/sweep_panel.hpp"

#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QImage>
#include <QProcess>
#include <QSet>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QWheelEvent>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

using namespace srigl::studio;

namespace {

struct RegionStats {
    double mean = 0, std = 0;
    int colours = 0;
};

RegionStats statsOf(const QImage& image, const QRect& region) {
    double sum = 0, sumSq = 0;
    qint64 n = 0;
    QSet<QRgb> colours;
    const QRect r = region.intersected(image.rect());
    for (int y = r.top(); y <= r.bottom(); ++y)
        for (int x = r.left(); x <= r.right(); ++x) {
            const QRgb px = image.pixel(x, y);
            const double l = qGray(px);
            sum += l;
            sumSq += l * l;
            ++n;
            if (colours.size() < 5000) colours.insert(px);
        }
    RegionStats s;
    if (n == 0) return s;
    s.mean = sum / static_cast<double>(n);
    s.std = std::sqrt(std::max(0.0, sumSq / static_cast<double>(n) - s.mean * s.mean));
    s.colours = static_cast<int>(colours.size());
    return s;
}

} // namespace

namespace {

// A user hovering over the mask: a mouse move every 16 ms (tooltips, fan-in bars), so frames keep
// coming as they do while someone looks.
void hoverOver(QTimer& timer, MaskInspectorWidget* inspector) {
    auto tick = std::make_shared<int>(0);
    QObject::connect(&timer, &QTimer::timeout, inspector, [inspector, tick] {
        const QPoint at(inspector->width() / 2 + (*tick % 40) - 20, inspector->height() * 2 / 3);
        QMouseEvent move(QEvent::MouseMove, at, inspector->mapToGlobal(at), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
        QCoreApplication::sendEvent(inspector, &move);
        ++*tick;
    });
    timer.start(16);
}

} // namespace

class TestInspectorGl : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void demoScreenshotShowsAMask();
    void sampledLayerIsDrawn();
    void inspectorKeepsRenderingWhileTraining();
    void liveMaskReachesTheInspectorWithinAFrame();

private:
    void saveDocScreenshots(MainWindow& window);
    void saveSweepScreenshot(MainWindow& window);
};

void TestInspectorGl::initTestCase() {
    if (QGuiApplication::platformName() != QStringLiteral("xcb"))
        QSKIP("needs a real window (xvfb-run with QT_QPA_PLATFORM=xcb)");
    QApplication::setOrganizationName(QStringLiteral("srigl-test"));
    applyTheme(Theme::Dark);
}

void TestInspectorGl::demoScreenshotShowsAMask() {
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("studio.png"));
    QProcess p;
    p.setProcessEnvironment(QProcessEnvironment::systemEnvironment()); // DISPLAY and xcb from xvfb-run
    p.start(QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl-studio"),
            {QStringLiteral("--demo"), QStringLiteral("--screenshot"), png, QStringLiteral("--after-steps"),
             QStringLiteral("600"), QStringLiteral("--db"), dir.filePath(QStringLiteral("runs.db"))});
    QVERIFY(p.waitForFinished(300000));
    QVERIFY2(p.exitCode() == 0, qPrintable(QString::fromUtf8(p.readAllStandardError())));
    const QImage image(png);
    QVERIFY(!image.isNull());

    // Where the inspector is in the demo's window: the same default layout, built here.
    MainWindow window(StudioOptions{dir.filePath(QStringLiteral("layout.db")), false});
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    MaskInspectorWidget* inspector = window.inspectors()->inspector();
    QVERIFY(inspector->isVisible());
    QCOMPARE(image.size(), window.size() * window.devicePixelRatio());
    const QRect region(inspector->mapTo(&window, QPoint(0, 0)), inspector->size());
    // The lower part of the inspector: the mask picture and the fan-in bars, below the header.
    const QRect picture = region.adjusted(0, region.height() / 3, 0, 0);
    const RegionStats s = statsOf(image, picture);
    std::printf("inspector region %dx%d at (%d,%d): luminance mean %.1f, std %.1f, %d colours\n", picture.width(),
                picture.height(), picture.x(), picture.y(), s.mean, s.std, s.colours);
    std::fflush(stdout);
    QVERIFY2(s.std > 8.0, "the inspector's picture is blank");
    QVERIFY2(s.colours > 20, "the inspector's picture has almost no colours");
}

// A layer recorded as a sample of whole rows (huge-mlp-99's fc2 is every 64th of 65536 neurons; here
// every 8th of 512, 64 rows of 3000 inputs, k = 30) reaches the inspector from the store the way a
// recorded run's frame does, and is drawn: its picture is not blank. The picture is saved to
// build/inspector-gl/sampled_layer.png to look at (the header names the sample).
void TestInspectorGl::sampledLayerIsDrawn() {
    QTemporaryDir dir;
    const std::string db = dir.filePath(QStringLiteral("runs.db")).toStdString();
    srigl::sessions::MaskRecord r;
    r.mask.name = r.stats.name = "fc2";
    r.mask.outFeatures = 64;
    r.mask.fanIn = r.stats.fanIn = 3000;
    r.mask.rowStride = 8;
    r.mask.layerOutFeatures = r.stats.outFeatures = 512;
    r.mask.bits.assign(static_cast<size_t>(64 * 3000 / 8), 0);
    for (int64_t row = 0; row < 64; ++row)
        for (int64_t j = 0; j < 30; ++j) {
            const int64_t e = row * 3000 + (row * 37 + j * 97) % 3000;
            r.mask.bits[static_cast<size_t>(e / 8)] |= static_cast<uint8_t>(1u << (e % 8));
        }
    r.stats.k = 30;
    r.stats.active = 512;
    const int64_t id = storeRun(db, minimalRun("sampled"), {}, {r});
    const auto frame = std::make_shared<const InspectorFrame>(loadInspectorFrame(db, id, 0, "fc2"));
    QVERIFY(frame->inspection->mask().sampled());
    QVERIFY(frame->inspection->offenders().empty()); // every sampled row has exactly k
    MaskInspectorWidget inspector;
    inspector.resize(900, 700);
    inspector.show();
    QVERIFY(QTest::qWaitForWindowExposed(&inspector));
    inspector.setFrame(frame);
    for (int i = 0; i < 20; ++i) QTest::qWait(20);
    const QImage image = inspector.grab().toImage();
    const QString folder = QStringLiteral(SRIGL_TEST_BINARY_DIR "/inspector-gl");
    QDir().mkpath(folder);
    QVERIFY(image.save(folder + QStringLiteral("/sampled_layer.png")));
    const RegionStats s = statsOf(image, QRect(0, image.height() / 3, image.width(), image.height() * 2 / 3));
    QVERIFY2(s.std > 8.0, "the sampled layer's picture is blank");
}

void TestInspectorGl::inspectorKeepsRenderingWhileTraining() {
    QTemporaryDir dir;
    MainWindow window(StudioOptions{dir.filePath(QStringLiteral("runs.db")), false});
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    MaskInspectorWidget* inspector = window.inspectors()->inspector();
    window.launcher()->choosePreset(0); // the default session: LeNet-300-100 on synthetic digits
    // Long enough that mask updates still come after the inspector's first picture: the default
    // session's last update (step 500) can pass before Mesa has compiled its shaders, now that it
    // trains condensed at a few hundred steps per second. The test stops the run itself.
    srigl::RunConfig config = window.launcher()->form()->config();
    config.epochs = 40;
    config.delta_t = 50;
    window.launcher()->form()->setConfig(config);
    QVERIFY(window.startFromLauncher());
    QTRY_VERIFY_WITH_TIMEOUT(inspector->frame() != nullptr, 60000);
    QVERIFY(inspector->glReady());
    // The first picture's texture upload is not part of the steady state measured below: Mesa's
    // software renderer compiles its shaders for it (about 250 ms once, on a busy machine).
    QTRY_VERIFY_WITH_TIMEOUT(inspector->textureCount() > 0, 30000);
    QTest::qWait(100);
    const int64_t firstStep = inspector->frame()->maskStep;
    const int64_t trainedBefore = window.liveSession()->controller().snapshot().step;

    // 3 s of a user hovering over the mask (tooltips, fan-in bars) while the run trains.
    inspector->resetFrameStats();
    QTimer hover;
    hoverOver(hover, inspector);
    QElapsedTimer clock;
    clock.start();
    QTest::qWait(3000);
    hover.stop();
    const double seconds = static_cast<double>(clock.elapsed()) / 1000.0;
    const FrameStats stats = inspector->frameStats();
    const int64_t trainedAfter = window.liveSession()->controller().snapshot().step;
    std::printf("inspector while training: %d frames in %.2f s = %.1f fps, frame mean %.2f ms (UI thread CPU %.2f ms), "
                "worst %.2f ms, worst gap %.1f ms; trainer %lld steps (%.0f steps/s); snapshot step %lld -> %lld\n",
                stats.frames, seconds, stats.frames / seconds, stats.meanFrameMs, stats.meanCpuMs, stats.worstFrameMs,
                stats.worstGapMs,
                static_cast<long long>(trainedAfter - trainedBefore), (trainedAfter - trainedBefore) / seconds,
                static_cast<long long>(firstStep), static_cast<long long>(inspector->frame()->maskStep));
    std::fflush(stdout);
    QVERIFY2(trainedAfter > trainedBefore, "the run did not train during the measurement");
    QVERIFY2(stats.frames > 0, "no frame was rendered");
    // Frame times only mean something when the machine is not saturated by other work: the default
    // session trains at about 270 steps/s on 2 idle cores. Below half of that, the machine itself is
    // the bottleneck (software OpenGL shares the same cores), so the bound is reported, not asserted.
    const double stepsPerSecond = static_cast<double>(trainedAfter - trainedBefore) / seconds;
    if (stepsPerSecond >= 135.0)
        QVERIFY2(stats.worstFrameMs < 200.0, qPrintable(QStringLiteral("worst frame %1 ms").arg(stats.worstFrameMs)));
    else
        qWarning("machine saturated (trainer at %.0f steps/s): worst frame %.1f ms not checked", stepsPerSecond,
                 stats.worstFrameMs);
    // The inspector follows the live run to its newer snapshots.
    QTRY_VERIFY_WITH_TIMEOUT(inspector->frame()->maskStep > firstStep, 30000);
    // The heatmap shows the same snapshot's weights (the default session records them) once its
    // tab is raised: hidden behind the inspector it renders nothing.
    window.inspectors()->docks().back()->raise();
    QTRY_VERIFY_WITH_TIMEOUT(!window.inspectors()->heatmap()->image().isNull(), 30000);
    window.inspectors()->docks().front()->raise();
    saveDocScreenshots(window);
    window.liveSession()->controller().stop();
    QTRY_VERIFY_WITH_TIMEOUT(!window.liveSession()->controller().isActive(), 60000);

    // A layer cut into several textures (as one larger than GL_MAX_TEXTURE_SIZE is) looks the same
    // as one texture: same zoom, same place, nothing missing at the tile borders.
    QTest::qWait(1500); // the run's last snapshot reaches the inspector
    QCOMPARE(inspector->textureCount(), 1);
    const QImage whole = inspector->grab().toImage();
    const int side = 128;
    inspector->setTileLimit(side);
    const auto rows = inspector->frame()->inspection->rows(), cols = inspector->frame()->inspection->cols();
    const int tiles = static_cast<int>(((rows + side - 1) / side) * ((cols + side - 1) / side));
    QVERIFY(tiles > 1);
    QTRY_COMPARE(inspector->textureCount(), tiles);
    const QImage tiled = inspector->grab().toImage();
    QCOMPARE(tiled.size(), whole.size());
    qint64 differing = 0;
    for (int y = 0; y < whole.height(); ++y)
        for (int x = 0; x < whole.width(); ++x) {
            const QRgb a = whole.pixel(x, y), b = tiled.pixel(x, y);
            if (std::abs(qRed(a) - qRed(b)) + std::abs(qGreen(a) - qGreen(b)) + std::abs(qBlue(a) - qBlue(b)) > 24) ++differing;
        }
    const double share = static_cast<double>(differing) / (static_cast<double>(whole.width()) * whole.height());
    std::printf("%d tiles of at most %d: %.3f %% of the inspector's pixels differ from one texture\n", tiles, side,
                100.0 * share);
    std::fflush(stdout);
    QVERIFY2(share < 0.01, qPrintable(QStringLiteral("%1 % of the pixels differ").arg(100.0 * share)));
    inspector->setTileLimit(0);
    QTRY_COMPARE(inspector->textureCount(), 1);
}

// With SRIGL_SHOT_DIR set: pictures of the inspector (zoomed in, a tooltip showing) and of the
// heatmap docks for docs/, taken from this real window.
void TestInspectorGl::saveDocScreenshots(MainWindow& window) {
    const QString dir = qEnvironmentVariable("SRIGL_SHOT_DIR");
    if (dir.isEmpty()) return;
    MaskInspectorWidget* inspector = window.inspectors()->inspector();
    const QPoint at(inspector->width() * 2 / 5, inspector->height() * 3 / 5);
    QWheelEvent wheel(at, inspector->mapToGlobal(at), QPoint(), QPoint(0, 120 * 8), Qt::NoButton, Qt::NoModifier,
                      Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(inspector, &wheel);
    QTest::qWait(300);
    QMouseEvent move(QEvent::MouseMove, at, inspector->mapToGlobal(at), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(inspector, &move);
    QTest::qWait(500);
    QDockWidget* inspectorDock = window.findChild<QDockWidget*>(QStringLiteral("maskInspectorDock"));
    QVERIFY(inspectorDock->grab().save(dir + QStringLiteral("/studio_inspector.png")));
    QDockWidget* heatmapDock = window.findChild<QDockWidget*>(QStringLiteral("weightHeatmapDock"));
    heatmapDock->raise();
    WeightHeatmapPanel* heatmap = window.inspectors()->heatmap();
    QSignalSpy rendered(heatmap, &WeightHeatmapPanel::rendered);
    heatmap->colormapBox()->setCurrentText(QStringLiteral("turbo")); // blue negative, green zero, red positive
    QVERIFY(rendered.wait(30000));
    QTest::qWait(300);
    QVERIFY(heatmapDock->grab().save(dir + QStringLiteral("/studio_heatmap.png")));

    // The structure dock on the live run: its three tabs, the neuron one opened as a click on a
    // fan-in bar does.
    StructureDocks* structure = window.structure();
    structure->dock()->raise();
    QTRY_VERIFY_WITH_TIMEOUT(structure->shown().has_value(), 30000);
    QTest::qWait(500);
    QVERIFY(structure->dock()->grab().save(dir + QStringLiteral("/studio_structure_degrees.png")));
    structure->tabs()->setCurrentIndex(1);
    QTest::qWait(300);
    QVERIFY(structure->dock()->grab().save(dir + QStringLiteral("/studio_structure_input.png")));
    QSignalSpy shown(structure, &StructureDocks::shownChanged);
    structure->openNeuron(QStringLiteral("fc1"), 7);
    QVERIFY(shown.wait(30000));
    QTest::qWait(300);
    QVERIFY(structure->dock()->grab().save(dir + QStringLiteral("/studio_structure_neuron.png")));
    inspectorDock->raise();
}

// docs/studio.md's sweep picture: a small grid (2 methods x 3 sparsities x 3 seeds, 2 epochs of
// LeNet-300-100 on synthetic digits) run from the Sweeps dock.
void TestInspectorGl::saveSweepScreenshot(MainWindow& window) {
    const QString dir = qEnvironmentVariable("SRIGL_SHOT_DIR");
    if (dir.isEmpty()) return;
    SweepPanel* sweeps = window.sweeps();
    sweeps->setBaseConfigSource([] {
        srigl::RunConfig c;
        c.synthetic_train = 2048;
        c.synthetic_test = 512;
        c.epochs = 2;
        c.delta_t = 8;
        c.dense_reference_steps = 0;
        return c;
    });
    sweeps->setMethods({QStringLiteral("srigl"), QStringLiteral("rigl")});
    sweeps->setSparsities(QStringLiteral("0.9, 0.95, 0.99"));
    sweeps->setSeeds(3);
    auto* dock = window.findChild<QDockWidget*>(QStringLiteral("sweepsDock"));
    dock->setFloating(true);
    dock->resize(1200, 700);
    dock->show();
    QSignalSpy ended(sweeps, &SweepPanel::sweepEnded);
    QVERIFY(sweeps->startSweep());
    QVERIFY(ended.wait(600000));
    QTest::qWait(300);
    QVERIFY(dock->grab().save(dir + QStringLiteral("/studio_sweeps.png")));
}

// The Studio's own process setup (OpenMP wait policy, Mesa's renderer threads) comes first, as in
// srigl-studio's main, so the frame rate measured here is the Studio's.
int main(int argc, char** argv) {
    prepareStudioProcess(argc, argv);
    QApplication app(argc, argv);
    TestInspectorGl test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}
// The latency target of the live inspector: from the trainer's publication of a mask update (the
// session's latest-value slot) to the first inspector frame that draws it, while LeNet-300-100
// trains and a user hovers over the mask (so frames keep coming, as they do when one looks).
void TestInspectorGl::liveMaskReachesTheInspectorWithinAFrame() {
    QTemporaryDir dir;
    MainWindow window(StudioOptions{dir.filePath(QStringLiteral("runs.db")), false});
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    MaskInspectorWidget* inspector = window.inspectors()->inspector();
    window.launcher()->choosePreset(0); // LeNet-300-100 on synthetic digits
    srigl::RunConfig config = window.launcher()->form()->config();
    config.epochs = 40;
    config.delta_t = 25; // an update every ~0.1 s at this session's speed
    window.launcher()->form()->setConfig(config);
    QVERIFY(window.startFromLauncher());
    QTRY_VERIFY_WITH_TIMEOUT(inspector->textureCount() > 0, 60000);
    QTimer hover;
    hoverOver(hover, inspector);
    inspector->resetFrameStats();
    const size_t before = inspector->liveLatenciesMs().size(); // the first ones include Mesa's shader compile
    QElapsedTimer clock;
    clock.start();
    const int64_t trainedBefore = window.sessionController().snapshot().step;
    QTRY_VERIFY_WITH_TIMEOUT(inspector->liveLatenciesMs().size() >= before + 20, 120000);
    hover.stop();
    const double seconds = static_cast<double>(clock.elapsed()) / 1000.0;
    const double stepsPerSecond = static_cast<double>(window.sessionController().snapshot().step - trainedBefore) / seconds;
    const FrameStats stats = inspector->frameStats();
    std::vector<double> ms(inspector->liveLatenciesMs().begin() + static_cast<long>(before), inspector->liveLatenciesMs().end());
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2], worst = ms.back();
    const double fps = stats.frames / seconds;
    std::printf("live mask to inspector: %zu updates, latency median %.1f ms, worst %.1f ms; %.1f fps (frame mean %.2f ms, "
                "worst gap %.1f ms) while training at %.0f steps/s\n",
                ms.size(), median, worst, fps, stats.meanFrameMs, stats.worstGapMs, stepsPerSecond);
    std::fflush(stdout);
    QVERIFY(inspector->frame()->publishedAt != std::chrono::steady_clock::time_point{}); // drawn from the slot
    window.sessionController().stop();
    QTRY_VERIFY_WITH_TIMEOUT(!window.sessionController().isActive(), 60000);
    saveSweepScreenshot(window);
    // Speed is measured, not asserted by a unit test: under ctest -j2 another suite trains beside
    // this one and software OpenGL is starved of the cores, whatever the load average says (it
    // lags). scripts/measure_inspector_fps.sh runs this case alone with SRIGL_CHECK_FRAME_TARGETS=1,
    // which checks the targets (docs/studio.md, "Live frame budget").
    if (qEnvironmentVariableIntValue("SRIGL_CHECK_FRAME_TARGETS") != 1) return;
    // Within one frame: a publication is drawn by the next frame the inspector renders, so its
    // latency is at most one frame period at the rate achieved, plus building the picture off the
    // UI thread (bounded by one more frame at 30 fps); and at 30 fps one frame is 33 ms.
    const double period = 1000.0 / std::max(fps, 1.0);
    QVERIFY2(median <= period + 34.0,
             qPrintable(QStringLiteral("median latency %1 ms at %2 ms per frame").arg(median).arg(period)));
    QVERIFY2(median <= 33.4, qPrintable(QStringLiteral("median latency %1 ms").arg(median)));
    QVERIFY2(fps >= 30.0, qPrintable(QStringLiteral("%1 fps").arg(fps)));
}

#include "test_inspector_gl.moc"
