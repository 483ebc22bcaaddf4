// The sweep panel offscreen: a methods x sparsities x seeds grid run from the form with the
// grid's and the point's progress, its table and chart, PNG/SVG/CSV export (hostile targets
// refused, the old file kept on a full disk), cancel and resume.
#include <QtTest>

#include "tests/gui/hostile_paths.hpp"
#include "tests/support/tiny_configs.hpp"
#include "widgets/jobs/job_controls.hpp"
#include "widgets/sweeps/sweep_panel.hpp"
#include "widgets/sweeps/sweep_results_view.hpp"

#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>

using namespace srigl;
using namespace srigl::studio;

class TestSweepPanel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gridRunsAndExports();
    void cancelThenResume();
    void badFormIsRefused();
    void exportsRefuseSpecialFilesAndKeepTheOldFile();
};

namespace {

RunConfig tinyBase() {
    RunConfig c = tinyRunConfig("16", 64, 4); // 16 steps
    c.delta_t = 4;
    return c;
}

void prepare(SweepPanel& panel, const QString& db) {
    panel.setDatabase(db);
    panel.setBaseConfigSource(tinyBase);
    panel.setMethods({QStringLiteral("srigl"), QStringLiteral("rigl")});
    panel.setSparsities(QStringLiteral("0.8, 0.9"));
    panel.setSeeds(2);
}

} // namespace

void TestSweepPanel::gridRunsAndExports() {
    QTemporaryDir dir;
    SweepPanel panel;
    prepare(panel, dir.filePath(QStringLiteral("runs.db")));
    QSignalSpy ended(&panel, &SweepPanel::sweepEnded);
    int maxPointBar = 0;
    connect(panel.pointBar(), &QProgressBar::valueChanged, this, [&](int v) { maxPointBar = std::max(maxPointBar, v); });
    QVERIFY(panel.startSweep());
    QVERIFY(!panel.startSweep()); // one sweep at a time
    QVERIFY(ended.wait(120000));
    QVERIFY2(panel.message().contains(QStringLiteral("8 of 8 points")), qPrintable(panel.message()));
    QVERIFY(maxPointBar > 0);
    QCOMPARE(panel.pointsTable()->rowCount(), 8);
    for (int r = 0; r < 8; ++r) QCOMPARE(panel.pointsTable()->item(r, 3)->text(), QStringLiteral("finished"));
    const auto& results = panel.resultsView()->results();
    QCOMPARE(results.series.size(), size_t{2});
    QCOMPARE(results.series[0].points.size(), size_t{2});
    QCOMPARE(results.series[0].points[0].count, 2);
    QVERIFY(!panel.resumeButton()->isEnabled());

    const QString png = dir.filePath(QStringLiteral("s.png")), svg = dir.filePath(QStringLiteral("s.svg")),
                  csv = dir.filePath(QStringLiteral("s.csv"));
    QVERIFY(panel.resultsView()->exportPng(png));
    QVERIFY(panel.resultsView()->exportSvg(svg));
    QVERIFY(panel.resultsView()->exportCsv(csv));
    QImage image(png);
    QVERIFY(image.width() >= 900);
    // The chart's series colours are in the picture (the lines and markers were drawn).
    bool blue = false, orange = false;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2) {
            const QColor c = image.pixelColor(x, y);
            blue |= c == SweepResultsView::seriesColor(0);
            orange |= c == SweepResultsView::seriesColor(1);
        }
    QVERIFY(blue && orange);
    QFile svgFile(svg);
    QVERIFY(svgFile.open(QIODevice::ReadOnly));
    const QByteArray svgText = svgFile.readAll();
    QVERIFY(svgText.contains("<svg") && svgText.contains("srigl") && svgText.contains("rigl"));
    QFile csvFile(csv);
    QVERIFY(csvFile.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(csvFile.readAll()).trimmed().split('\n').size(), 5);
    // A bad path is a message, not a crash.
    QString error;
    QVERIFY(!panel.resultsView()->exportCsv(dir.filePath(QStringLiteral("missing/dir/s.csv")), &error));
    QVERIFY(!error.isEmpty());
    panel.resize(900, 600);
    panel.grab().save(QStringLiteral(SRIGL_TEST_BINARY_DIR "/sweep_panel.png"));
}

void TestSweepPanel::cancelThenResume() {
    QTemporaryDir dir;
    SweepPanel panel;
    prepare(panel, dir.filePath(QStringLiteral("runs.db")));
    QSignalSpy ended(&panel, &SweepPanel::sweepEnded);
    // Cancel once the third point has started.
    connect(panel.controls()->progressBar(), &QProgressBar::valueChanged, this, [&](int v) {
        if (v >= 2 * int(sessions::kSweepProgressPerPoint)) panel.cancel();
    });
    QVERIFY(panel.startSweep());
    QVERIFY(ended.wait(120000));
    QVERIFY2(panel.message().contains(QStringLiteral("stopped")), qPrintable(panel.message()));
    QVERIFY(panel.resumeButton()->isEnabled());
    const qint64 id = panel.sweepId();
    int finished = 0;
    for (int r = 0; r < panel.pointsTable()->rowCount(); ++r)
        finished += panel.pointsTable()->item(r, 3)->text() == QStringLiteral("finished");
    QVERIFY(finished >= 2 && finished < 8);
    disconnect(panel.controls()->progressBar(), nullptr, this, nullptr);
    QVERIFY(panel.resumeSweep());
    QVERIFY(ended.wait(120000));
    QCOMPARE(panel.sweepId(), id);
    QVERIFY2(panel.message().contains(QStringLiteral("8 of 8 points")), qPrintable(panel.message()));
}

void TestSweepPanel::badFormIsRefused() {
    QTemporaryDir dir;
    SweepPanel panel;
    prepare(panel, dir.filePath(QStringLiteral("runs.db")));
    panel.setMethods({});
    QVERIFY(!panel.startSweep());
    QVERIFY(panel.message().contains(QStringLiteral("method")));
    panel.setMethods({QStringLiteral("srigl")});
    panel.setSparsities(QStringLiteral("0.9, 1.5"));
    QVERIFY(panel.startSweep()); // the grid is validated by the job, before anything is stored
    QTRY_VERIFY_WITH_TIMEOUT(!panel.running(), 30000);
    QVERIFY2(panel.message().contains(QStringLiteral("sparsity")), qPrintable(panel.message()));
    QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("runs.db"))));
}


void TestSweepPanel::exportsRefuseSpecialFilesAndKeepTheOldFile() {
    sessions::SweepResults results;
    results.xKey = "sparsity";
    results.seriesKey = "method";
    for (const char* method : {"srigl", "rigl"}) {
        sessions::SweepSeries s;
        s.label = method;
        s.points.push_back({"0.8", 0.8, 0.9, 0.01, 2, {0.89, 0.91}, {1, 2}});
        s.points.push_back({"0.9", 0.9, 0.85, 0.02, 2, {0.84, 0.86}, {3, 4}});
        results.series.push_back(s);
    }
    SweepResultsView view;
    view.setResults(results, QStringLiteral("a sweep"));
    QTemporaryDir dir;
    const QByteArray old("OLD CONTENT");
    using Export = bool (SweepResultsView::*)(const QString&, QString*) const;
    const std::pair<const char*, Export> formats[] = {
        {"png", &SweepResultsView::exportPng}, {"svg", &SweepResultsView::exportSvg}, {"csv", &SweepResultsView::exportCsv}};
    for (const auto& [suffix, exportTo] : formats) {
        QString error;
        // A FIFO: the PNG and SVG writers blocked the UI thread on it, QSaveFile replaced it.
        const QString fifo = dir.filePath(QStringLiteral("fifo.") + suffix);
        test::FifoWithReader reader(fifo);
        QVERIFY(reader.ok());
        QVERIFY2(!(view.*exportTo)(fifo, &error), suffix);
        QVERIFY2(error.contains("not a regular file") && error.contains(fifo), qPrintable(error));
        QVERIFY(test::isFifo(fifo));
        QVERIFY(!(view.*exportTo)(dir.path(), &error));
        QVERIFY2(error.contains("folder"), qPrintable(error));
        // A device: as root, QSaveFile renamed its file over the node the link names.
        const QString link = test::fullDeviceLink(dir.path(), QStringLiteral("full.") + suffix);
        if (!link.isEmpty()) {
            QVERIFY(!(view.*exportTo)(link, &error));
            QVERIFY2(error.contains("not a regular file"), qPrintable(error));
            QVERIFY(test::isCharDevice(dir.filePath(QStringLiteral("full"))));
        }
        // A full disk mid-write keeps the old file and says so.
        const QString file = dir.filePath(QStringLiteral("old.") + suffix);
        {
            QFile f(file);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(old);
        }
        {
            test::FileSizeLimit limit(64);
            QVERIFY2(!(view.*exportTo)(file, &error), suffix);
            QVERIFY2(error.contains(file), qPrintable(error));
        }
        QCOMPARE(test::fileBytes(file), old);
        QVERIFY2((view.*exportTo)(file, &error), qPrintable(error));
        QVERIFY(test::fileBytes(file).size() > 64);
    }
    QCOMPARE(test::strayFiles(dir.path(), {"fifo.png", "fifo.svg", "fifo.csv", "full", "full.png", "full.svg",
                                           "full.csv", "old.png", "old.svg", "old.csv"}),
             QStringList());
}
QTEST_MAIN(TestSweepPanel)
#include "test_sweep_panel.moc"
