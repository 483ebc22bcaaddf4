// Exports: metrics CSV exact for known metrics, a panel's PNG written and not blank, and the mask
// evolution of a layer as a video or PNG sequence with one frame per stored snapshot. Hostile
// targets (hostile_paths.hpp): a folder, a FIFO or a device is refused by name and left as it is,
// and a full disk mid-write or a cancel leaves the old file whole.
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"
#include "widgets/runs/export_actions.hpp"
#include "widgets/common/xy_chart.hpp"
#include "tests/gui/hostile_paths.hpp"

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

// exportMaskEvolution with Cancel pressed once `frame` frames are written.
size_t exportCancelledAt(const std::string& db, int64_t id, const QString& out, size_t frame) {
    std::atomic<bool> cancel{false};
    return exportMaskEvolution(db, id, "fc1", out.toStdString(), [&](size_t d, size_t) {
        if (d == frame) cancel = true;
    }, &cancel);
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
    void pngRefusesFoldersFifosAndDevices();
    void csvRefusesFoldersFifosAndDevices();
    void videoRefusesFifosAndDevices();
    void exportsNeverReplaceTheDatabase();
    void fullDiskKeepsTheOldFile();
    void cancelKeepsTheOldVideo();
    void linkedTargetIsReplacedThroughTheLink();
    void cancelledSequenceKeepsTheOldFrames();
    void failedSequenceKeepsTheOldFrames();
    void sequenceReplacesItsFramesAndKeepsOtherFiles();
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
    QCOMPARE(exportCancelledAt(db, id, out, 2), size_t(0));
    QVERIFY(!QFile::exists(out));
    // The image sequence stops too, and leaves nothing: no folder, no staging folder beside it.
    const QString seq = dir.filePath("seq");
    QCOMPARE(exportCancelledAt(db, id, seq, 3), size_t(0));
    QVERIFY(!QFileInfo::exists(seq));
    QCOMPARE(test::strayFiles(dir.path(), {"runs.db", "runs.db-wal", "runs.db-shm"}), QStringList());
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

namespace {

const QByteArray kOld("OLD CONTENT");

void writeOld(const QString& path) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(kOld);
}

int64_t runWithManyMetrics(const std::string& db, int rows) {
    RunStore store(db);
    NewRun n;
    n.config = "{}";
    const int64_t id = store.createRun(n);
    std::vector<Metric> metrics;
    for (int i = 0; i < rows; ++i) metrics.push_back({i, "train_loss", 1.0 / (i + 3)});
    store.addMetrics(id, metrics);
    return id;
}

QString storeErrorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const StoreError& e) {
        return QString::fromUtf8(e.what());
    }
    return QString();
}

} // namespace

void TestExports::pngRefusesFoldersFifosAndDevices() {
    QTemporaryDir dir;
    XyChart chart(QStringLiteral("t"), QStringLiteral("x"), QStringLiteral("y"));
    chart.resize(240, 160);
    QString error;
    QVERIFY(!exportWidgetPng(&chart, dir.path(), &error));
    QVERIFY2(error.contains("folder"), qPrintable(error));
    // Opening a FIFO would block the UI thread until a reader comes.
    const QString fifo = dir.filePath("fifo.png");
    test::FifoWithReader reader(fifo);
    QVERIFY(reader.ok());
    QVERIFY(!exportWidgetPng(&chart, fifo, &error));
    QVERIFY2(error.contains("not a regular file") && error.contains(fifo), qPrintable(error));
    QVERIFY(test::isFifo(fifo));
    // A device (as root, the atomic rename would have replaced /dev/full with a plain file).
    const QString link = test::fullDeviceLink(dir.path(), "full.png");
    if (!link.isEmpty()) {
        QVERIFY(!exportWidgetPng(&chart, link, &error));
        QVERIFY2(error.contains("not a regular file"), qPrintable(error));
        QVERIFY(test::isCharDevice(dir.filePath("full")));
    }
}

void TestExports::csvRefusesFoldersFifosAndDevices() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t id = runWithManyMetrics(db, 3);
    // Written on the store reader's thread: a FIFO would have stalled every panel's reads.
    QString error = storeErrorOf([&] { exportMetricsCsv(db, {id}, dir.path().toStdString()); });
    QVERIFY2(error.contains("folder"), qPrintable(error));
    const QString fifo = dir.filePath("fifo.csv");
    test::FifoWithReader reader(fifo);
    QVERIFY(reader.ok());
    error = storeErrorOf([&] { exportMetricsCsv(db, {id}, fifo.toStdString()); });
    QVERIFY2(error.contains("not a regular file") && error.contains(fifo), qPrintable(error));
    QVERIFY(test::isFifo(fifo));
    const QString link = test::fullDeviceLink(dir.path(), "full.csv");
    if (!link.isEmpty()) {
        error = storeErrorOf([&] { exportMetricsCsv(db, {id}, link.toStdString()); });
        QVERIFY2(error.contains("not a regular file"), qPrintable(error));
        QVERIFY(test::isCharDevice(dir.filePath("full")));
    }
}

void TestExports::videoRefusesFifosAndDevices() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t id = runWithMasks(db, 3);
    // OpenCV opens the path itself (a FIFO hung the export's worker, and so its modal dialog) and
    // unlinks what it could not write.
    const QString fifo = dir.filePath("fifo.avi");
    test::FifoWithReader reader(fifo);
    QVERIFY(reader.ok());
    QString error = storeErrorOf([&] { exportMaskEvolution(db, id, "fc1", fifo.toStdString()); });
    QVERIFY2(error.contains("not a regular file") && error.contains(fifo), qPrintable(error));
    QVERIFY(test::isFifo(fifo));
    const QString link = test::fullDeviceLink(dir.path(), "full.avi");
    if (!link.isEmpty()) {
        error = storeErrorOf([&] { exportMaskEvolution(db, id, "fc1", link.toStdString()); });
        QVERIFY2(error.contains("not a regular file"), qPrintable(error));
        QVERIFY(test::isCharDevice(dir.filePath("full")));
    }
    // The dialog's wrapper reports it rather than waiting.
    QCOMPARE(exportMaskEvolutionWithDialog(nullptr, db, id, "fc1", fifo.toStdString(), &error), -1LL);
    QVERIFY2(error.contains("not a regular file"), qPrintable(error));
}

// A link to the run database given as a picture, CSV or video (a mistyped name, a link a script
// left) replaced the database with the export: every recorded run was lost.
void TestExports::exportsNeverReplaceTheDatabase() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t id = runWithMasks(db, 3);
    const QByteArray before = test::fileBytes(QString::fromStdString(db));
    XyChart chart(QStringLiteral("t"), QStringLiteral("x"), QStringLiteral("y"));
    chart.resize(240, 160);
    for (const char* name : {"panel.png", "metrics.csv", "masks.avi"})
        QVERIFY(QFile::link(QString::fromStdString(db), dir.filePath(name)));
    QString error;
    QVERIFY(!exportWidgetPng(&chart, dir.filePath("panel.png"), &error));
    QVERIFY2(error.contains("holds a SQLite database"), qPrintable(error));
    error = storeErrorOf([&] { exportMetricsCsv(db, {id}, dir.filePath("metrics.csv").toStdString()); });
    QVERIFY2(error.contains("holds a SQLite database"), qPrintable(error));
    error = storeErrorOf([&] { exportMaskEvolution(db, id, "fc1", dir.filePath("masks.avi").toStdString()); });
    QVERIFY2(error.contains("holds a SQLite database"), qPrintable(error));
    error = storeErrorOf([&] { exportMaskEvolution(db, id, "fc1", db); }); // a PNG sequence named runs.db
    QVERIFY2(error.contains("not a folder"), qPrintable(error));
    QCOMPARE(test::fileBytes(QString::fromStdString(db)), before);
    QCOMPARE(int(RunStore(db, RunStore::Mode::ReadOnly).listRuns().size()), 1);
}

void TestExports::fullDiskKeepsTheOldFile() {
    QTemporaryDir dir;
    const QStringList keep{"runs.db", "runs.db-wal", "runs.db-shm", "ref.avi", "panel.png", "m.csv", "v.avi"};
    // PNG of a panel.
    XyChart chart(QStringLiteral("speed-up"), QStringLiteral("batch"), QStringLiteral("x dense"));
    chart.setSeries({{QStringLiteral("90 %"), {{1, 2.0}, {16, 3.0}, {64, 4.5}}}});
    chart.resize(480, 320);
    const QString png = dir.filePath("panel.png");
    writeOld(png);
    {
        test::FileSizeLimit limit(1024);
        QString error;
        QVERIFY(!exportWidgetPng(&chart, png, &error));
        QVERIFY2(error.contains(png), qPrintable(error));
    }
    QCOMPARE(test::fileBytes(png), kOld);
    // CSV (about 250 KB).
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t metricsRun = runWithManyMetrics(db, 10000);
    const QString csv = dir.filePath("m.csv");
    writeOld(csv);
    {
        RunStore store(db, RunStore::Mode::ReadOnly);
        test::FileSizeLimit limit(64 * 1024); // room for SQLite's 32 KiB -shm index
        const QString error = storeErrorOf([&] { exportMetricsCsv(store, {metricsRun}, csv.toStdString()); });
        QVERIFY2(error.contains(csv), qPrintable(error));
    }
    QCOMPARE(test::fileBytes(csv), kOld);
    // Video: OpenCV's writers ignore failed writes, so the finished file is checked.
    const int64_t maskRun = runWithMasks(db, 24);
    const QString ref = dir.filePath("ref.avi");
    QCOMPARE(exportMaskEvolution(db, maskRun, "fc1", ref.toStdString()), size_t(24));
    const qint64 half = QFileInfo(ref).size() / 2;
    QVERIFY2(half > 40 * 1024, qPrintable(QString::number(half)));
    const QString video = dir.filePath("v.avi");
    writeOld(video);
    {
        test::FileSizeLimit limit(static_cast<rlim_t>(half));
        const QString error = storeErrorOf([&] { exportMaskEvolution(db, maskRun, "fc1", video.toStdString()); });
        QVERIFY2(error.contains(video), qPrintable(error));
    }
    QCOMPARE(test::fileBytes(video), kOld);
    QCOMPARE(test::strayFiles(dir.path(), keep), QStringList());
}

void TestExports::cancelKeepsTheOldVideo() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t id = runWithMasks(db, 6);
    const QString out = dir.filePath("fc1.avi");
    writeOld(out);
    QCOMPARE(exportCancelledAt(db, id, out, 2), size_t(0));
    QCOMPARE(test::fileBytes(out), kOld);
    QCOMPARE(test::strayFiles(dir.path(), {"runs.db", "runs.db-wal", "runs.db-shm", "fc1.avi"}), QStringList());
}

void TestExports::linkedTargetIsReplacedThroughTheLink() {
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkdir("real"));
    const std::string db = dir.filePath("runs.db").toStdString();
    const int64_t id = runWithMasks(db, 3);
    {
        RunStore store(db);
        store.addMetrics(id, {{1, "train_loss", 2.0}});
    }
    XyChart chart(QStringLiteral("t"), QStringLiteral("x"), QStringLiteral("y"));
    chart.resize(240, 160);
    for (const QString& name : {QStringLiteral("p.png"), QStringLiteral("m.csv"), QStringLiteral("v.avi")}) {
        const QString target = dir.filePath("real/" + name), link = dir.filePath(name);
        writeOld(target);
        QVERIFY(QFile::link(target, link));
        QString error;
        if (name.endsWith(".png")) QVERIFY2(exportWidgetPng(&chart, link, &error), qPrintable(error));
        else if (name.endsWith(".csv")) exportMetricsCsv(db, {id}, link.toStdString());
        else QCOMPARE(exportMaskEvolution(db, id, "fc1", link.toStdString()), size_t(3));
        QVERIFY(QFileInfo(link).isSymLink());
        QVERIFY(test::fileBytes(target) != kOld);
        QVERIFY(QFileInfo(target).size() > 0);
    }
    QCOMPARE(test::strayFiles(dir.filePath("real"), {"p.png", "m.csv", "v.avi"}), QStringList());
}

namespace {

// A folder of an earlier export: frames 0 and 2 of fc1 (OLD CONTENT), an older run's frame 9 and a
// note of the user's.
const QStringList kOldFrames{"fc1_0000_step0.png", "fc1_0002_step200.png", "fc1_0009_step900.png", "notes.txt"};

void writeOldFrames(const QString& folder) {
    QVERIFY(QDir().mkpath(folder));
    for (const QString& name : kOldFrames) writeOld(QDir(folder).filePath(name));
}

void checkOldFrames(const QString& folder) {
    QCOMPARE(test::strayFiles(folder, kOldFrames), QStringList()); // no new frame, no staging folder
    for (const QString& name : kOldFrames) QCOMPARE(test::fileBytes(QDir(folder).filePath(name)), kOld);
}

// A temporary folder holding runs.db, with a run of `updates` snapshots of fc1 (runWithMasks), and
// frames/, the folder of an earlier export (writeOldFrames).
struct EarlierExport {
    explicit EarlierExport(int updates)
        : db(dir.filePath("runs.db").toStdString()), id(runWithMasks(db, updates)), out(dir.filePath("frames")) {
        writeOldFrames(out);
    }
    // What is beside frames/ and not the store's: a staging folder left behind.
    QStringList strays() const {
        return test::strayFiles(dir.path(), {"runs.db", "runs.db-wal", "runs.db-shm", "frames"});
    }
    QTemporaryDir dir;
    std::string db;
    int64_t id;
    QString out;
};

// A run with `updates` snapshots of a `side` x `side` layer "big" of random entries: frames whose
// PNG is larger than SQLite needs to read the store (a full disk can hit a frame, not the reading).
int64_t runWithNoisyMasks(const std::string& db, int updates, int side) {
    RunStore store(db);
    NewRun n;
    n.config = "{}";
    const int64_t id = store.createRun(n);
    std::vector<MaskRecord> records;
    uint32_t state = 12345;
    for (int u = 0; u < updates; ++u) {
        MaskRecord r;
        r.step = u;
        r.mask.name = r.stats.name = "big";
        r.mask.outFeatures = r.mask.fanIn = side;
        r.mask.bits.resize(static_cast<size_t>(side * side / 8));
        for (auto& b : r.mask.bits) b = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
        records.push_back(r);
    }
    store.addMasks(id, records);
    return id;
}

} // namespace

void TestExports::cancelledSequenceKeepsTheOldFrames() {
    EarlierExport e(6);
    QCOMPARE(exportCancelledAt(e.db, e.id, e.out, 4), size_t(0));
    checkOldFrames(e.out);
    QCOMPARE(e.strays(), QStringList());
}

void TestExports::failedSequenceKeepsTheOldFrames() {
    EarlierExport e(6);
    // An error after some frames: a folder where frame 3 goes.
    const QString inTheWay = QDir(e.out).filePath("fc1_0003_step300.png");
    QVERIFY(QDir().mkdir(inTheWay));
    QString error = storeErrorOf([&] { exportMaskEvolution(e.db, e.id, "fc1", e.out.toStdString()); });
    QVERIFY2(error.contains("fc1_0003_step300.png") && error.contains("is a folder"), qPrintable(error));
    QVERIFY(QDir().rmdir(inTheWay));
    checkOldFrames(e.out);
    // A full disk on the first frame (each PNG is over 64 KiB, the room SQLite needs to read).
    const int64_t big = runWithNoisyMasks(e.db, 3, 1024);
    const auto fullDiskError = [&](const QString& target) {
        test::FileSizeLimit limit(64 * 1024);
        return storeErrorOf([&] { exportMaskEvolution(e.db, big, "big", target.toStdString()); });
    };
    const auto bigName = [](QString name) { return name.replace("fc1_", "big_"); };
    for (const QString& name : kOldFrames) writeOld(QDir(e.out).filePath(bigName(name)));
    error = fullDiskError(e.out);
    QVERIFY2(error.contains(e.out), qPrintable(error));
    QStringList all = kOldFrames;
    for (const QString& name : kOldFrames) {
        QCOMPARE(test::fileBytes(QDir(e.out).filePath(bigName(name))), kOld);
        all << bigName(name);
    }
    QCOMPARE(test::strayFiles(e.out, all), QStringList());
    // The same into a new folder: nothing is left beside it.
    error = fullDiskError(e.dir.filePath("new"));
    QVERIFY2(error.contains(e.dir.filePath("new")), qPrintable(error));
    QCOMPARE(e.strays(), QStringList());
}

void TestExports::sequenceReplacesItsFramesAndKeepsOtherFiles() {
    EarlierExport e(4);
    // No new frame shows before the last one is written.
    QCOMPARE(exportMaskEvolution(e.db, e.id, "fc1", e.out.toStdString(), [&](size_t, size_t) {
        QCOMPARE(QDir(e.out).entryList(QDir::Files, QDir::Name), kOldFrames);
    }), size_t(4));
    const QStringList frames{"fc1_0000_step0.png", "fc1_0001_step100.png", "fc1_0002_step200.png", "fc1_0003_step300.png"};
    QCOMPARE(test::strayFiles(e.out, frames + QStringList{"fc1_0009_step900.png", "notes.txt"}), QStringList());
    for (const QString& name : frames) QVERIFY2(!QImage(QDir(e.out).filePath(name)).isNull(), qPrintable(name));
    QCOMPARE(test::fileBytes(QDir(e.out).filePath("fc1_0009_step900.png")), kOld);
    QCOMPARE(test::fileBytes(QDir(e.out).filePath("notes.txt")), kOld);
    QCOMPARE(e.strays(), QStringList());
}

QTEST_MAIN(TestExports)
#include "test_exports.moc"
