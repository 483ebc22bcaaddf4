// Exports: metrics CSV exact for known metrics, a panel's PNG written and not blank, and the mask
// evolution of a layer as a video or PNG sequence with one frame per stored snapshot.
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"
#include "widgets/runs/export_actions.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/videoio.hpp>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

// A run with `updates` snapshots of a 6 x 10 layer "fc1" (one entry moves each time) and one of "fc2".
int64_t runWithMasks(const std::string& db, int updates) {
    RunStore store(db);
    NewRun n;
    n.config = "{}";
    const int64_t id = store.createRun(n);
    std::vector<MaskRecord> records;
    for (int u = 0; u < updates; ++u) {
        MaskRecord r;
        r.step = 100 * u;
        r.mask.name = "fc1";
        r.mask.outFeatures = 6;
        r.mask.fanIn = 10;
        r.mask.bits.assign(8, 0);
        for (int row = 0; row < 6; ++row) {
            const int i = row * 10 + (row + u) % 10;
            r.mask.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
        }
        r.stats.name = "fc1";
        records.push_back(r);
    }
    MaskRecord other = records.front();
    other.mask.name = other.stats.name = "fc2";
    records.push_back(other);
    store.addMasks(id, records);
    return id;
}

int countVideoFrames(const QString& path) {
    cv::VideoCapture video(path.toStdString());
    if (!video.isOpened()) return -1;
    int frames = 0;
    cv::Mat frame;
    while (video.read(frame)) ++frames;
    return frames;
}

} // namespace

class TestExports : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void csvIsExactForKnownMetrics();
    void csvFileMatchesAndUnknownRunFails();
    void pngOfAPanelIsWrittenAndNotBlank();
    void pngToAnUnwritablePathFails();
    void videoHasOneFramePerSnapshot();
    void imageSequenceHasOneFilePerSnapshot();
    void cancelRemovesThePartialVideo();
    void unknownLayerFails();
};

void TestExports::csvIsExactForKnownMetrics() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    int64_t a = 0, b = 0;
    {
        RunStore store(db);
        NewRun n;
        n.config = "{}";
        a = store.createRun(n);
        b = store.createRun(n);
        store.addMetrics(a, {{20, "train_loss", 0.25}, {10, "train_loss", 0.5}, {10, "lr", 0.1}});
        store.addMetrics(b, {{5, "test_accuracy", 0.875}, {5, "test_loss", 1e-7}});
    }
    const std::string expected = "run,step,metric,value\n"
                                 "2,5,test_accuracy,0.875\n"
                                 "2,5,test_loss,1e-07\n"
                                 "1,10,lr,0.1\n"
                                 "1,10,train_loss,0.5\n"
                                 "1,20,train_loss,0.25\n";
    QCOMPARE(metricsCsv(db, {b, a}), expected);
}

void TestExports::csvFileMatchesAndUnknownRunFails() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    int64_t a = 0;
    {
        RunStore store(db);
        NewRun n;
        n.config = "{}";
        a = store.createRun(n);
        store.addMetrics(a, {{1, "train_loss", 2.0}});
    }
    const QString path = dir.filePath("m.csv");
    exportMetricsCsv(db, {a}, path.toStdString());
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("run,step,metric,value\n1,1,train_loss,2\n"));
    QVERIFY_THROWS_EXCEPTION(StoreError, metricsCsv(db, {a, 42}));
    QVERIFY_THROWS_EXCEPTION(StoreError, exportMetricsCsv(db, {a}, dir.filePath("no/such/dir/m.csv").toStdString()));
}

void TestExports::pngOfAPanelIsWrittenAndNotBlank() {
    QTemporaryDir dir;
    XyChart chart(QStringLiteral("speed-up"), QStringLiteral("batch"), QStringLiteral("x dense"));
    chart.setSeries({{QStringLiteral("90 %"), {{1, 2.0}, {16, 3.0}, {64, 4.5}}}});
    chart.resize(480, 320);
    const QString path = dir.filePath("panel.png");
    QString error;
    QVERIFY2(exportWidgetPng(&chart, path, &error), qPrintable(error));
    const QImage image(path);
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), QSize(480, 320) * chart.devicePixelRatio());
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 3)
        for (int x = 0; x < image.width(); x += 3) colours.insert(image.pixel(x, y));
    QVERIFY2(colours.size() > 10, qPrintable(QString::number(colours.size()))); // axes, labels, a line
}

void TestExports::pngToAnUnwritablePathFails() {
    QTemporaryDir dir;
    XyChart chart(QStringLiteral("t"), QStringLiteral("x"), QStringLiteral("y"));
    QString error;
    QVERIFY(!exportWidgetPng(&chart, dir.filePath("missing/dir/panel.png"), &error));
    QVERIFY(error.contains("cannot write"));
}

void TestExports::videoHasOneFramePerSnapshot() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t id = runWithMasks(db, 5);
    const QString out = dir.filePath("fc1.avi");
    std::vector<size_t> reported;
    const size_t frames = exportMaskEvolution(db, id, "fc1", out.toStdString(), [&](size_t d, size_t t) {
        QCOMPARE(t, size_t(5));
        reported.push_back(d);
    });
    QCOMPARE(frames, size_t(5));
    QCOMPARE(reported, (std::vector<size_t>{1, 2, 3, 4, 5}));
    QCOMPARE(countVideoFrames(out), 5);
}

void TestExports::imageSequenceHasOneFilePerSnapshot() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t id = runWithMasks(db, 4);
    const QString out = dir.filePath("frames");
    QCOMPARE(exportMaskEvolution(db, id, "fc1", out.toStdString()), size_t(4));
    const QStringList files = QDir(out).entryList({QStringLiteral("*.png")}, QDir::Files, QDir::Name);
    QCOMPARE(files, (QStringList{"fc1_0000_step0.png", "fc1_0001_step100.png", "fc1_0002_step200.png", "fc1_0003_step300.png"}));
    const QImage first(QDir(out).filePath(files[0]));
    QVERIFY(!first.isNull());
    QVERIFY(first.width() >= 512); // magnified like `srigl runs render`
}

void TestExports::cancelRemovesThePartialVideo() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t id = runWithMasks(db, 6);
    const QString out = dir.filePath("fc1.avi");
    std::atomic<bool> cancel{false};
    const size_t frames = exportMaskEvolution(db, id, "fc1", out.toStdString(), [&](size_t d, size_t) {
        if (d == 2) cancel = true;
    }, &cancel);
    QCOMPARE(frames, size_t(0));
    QVERIFY(!QFile::exists(out));
    // The image sequence stops too, keeping the frames already written.
    cancel = false;
    const QString seq = dir.filePath("seq");
    QCOMPARE(exportMaskEvolution(db, id, "fc1", seq.toStdString(), [&](size_t d, size_t) {
        if (d == 3) cancel = true;
    }, &cancel), size_t(3));
    QCOMPARE(QDir(seq).entryList({QStringLiteral("*.png")}, QDir::Files).size(), 3);
}

void TestExports::unknownLayerFails() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t id = runWithMasks(db, 2);
    try {
        exportMaskEvolution(db, id, "fc9", dir.filePath("x.avi").toStdString());
        QFAIL("expected StoreError");
    } catch (const StoreError& e) {
        QVERIFY2(QString(e.what()).contains("no mask snapshots of layer 'fc9'"), e.what());
    }
    QCOMPARE(maskLayers(db, id), (std::vector<std::string>{"fc1", "fc2"}));
}

QTEST_MAIN(TestExports)
#include "test_exports.moc"
