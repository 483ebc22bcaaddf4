// srigl-studio as a user runs it: --demo --screenshot trains the default session for N steps and
// writes a PNG of the main window that is not blank; bad arguments exit with code 2.
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"

#include <QElapsedTimer>
#include <QImage>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace srigl::sessions;

namespace {

QString studioBinary() {
    return QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl-studio");
}

struct Finished {
    int exitCode = -1;
    QString out, err;
};

Finished runStudio(const QStringList& args, int timeoutMs) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    p.setProcessEnvironment(env);
    p.start(studioBinary(), args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return {};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

} // namespace

class TestStudioDemo : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void screenshotIsNotBlank();
    void badAfterStepsExitsWithTwo();
    void terminateStopsTheRunCheckpointed();
};

void TestStudioDemo::screenshotIsNotBlank() {
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("studio.png"));
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    const auto r = runStudio({QStringLiteral("--demo"), QStringLiteral("--screenshot"), png,
                              QStringLiteral("--after-steps"), QStringLiteral("40"), QStringLiteral("--db"), db},
                             300000);
    QVERIFY2(r.exitCode == 0, qPrintable(QStringLiteral("exit %1\n%2\n%3").arg(r.exitCode).arg(r.out, r.err)));
    QVERIFY(r.out.contains(QStringLiteral("screenshot")));

    QImage image(png);
    QVERIFY(!image.isNull());
    QVERIFY2(image.width() >= 1000 && image.height() >= 600,
             qPrintable(QStringLiteral("%1x%2").arg(image.width()).arg(image.height())));
    // Not blank: the luminance varies (text, charts, tables) and many distinct colours appear.
    double sum = 0, sumSq = 0;
    qint64 n = 0;
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2) {
            const QRgb px = image.pixel(x, y);
            const double l = qGray(px);
            sum += l;
            sumSq += l * l;
            ++n;
            if (colours.size() < 10000) colours.insert(px);
        }
    const double mean = sum / static_cast<double>(n);
    const double variance = sumSq / static_cast<double>(n) - mean * mean;
    std::printf("screenshot %dx%d: luminance mean %.1f, std %.1f, %lld colours\n", image.width(), image.height(), mean,
                std::sqrt(variance), static_cast<long long>(colours.size()));
    QVERIFY2(variance > 100.0, qPrintable(QStringLiteral("luminance variance %1").arg(variance)));
    QVERIFY2(colours.size() > 50, qPrintable(QStringLiteral("%1 colours").arg(colours.size())));

    // The demo's run is recorded, trained at least the requested steps, and was stopped on exit.
    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    const auto runs = store.listRuns();
    QCOMPARE(runs.size(), size_t(1));
    QVERIFY(runs[0].steps >= 40);
    QVERIFY(runs[0].status == RunStatus::Stopped || runs[0].status == RunStatus::Finished);
    QCOMPARE(runs[0].dataset, std::string("synthetic"));
}

void TestStudioDemo::badAfterStepsExitsWithTwo() {
    QTemporaryDir dir;
    const auto r = runStudio({QStringLiteral("--demo"), QStringLiteral("--screenshot"), dir.filePath("x.png"),
                              QStringLiteral("--after-steps"), QStringLiteral("many")},
                             60000);
    QCOMPARE(r.exitCode, 2);
    QVERIFY(r.err.contains(QStringLiteral("--after-steps")));
    QVERIFY(!QFile::exists(dir.filePath("x.png")));
}

// SIGTERM (kill, a logout, a shutdown) killed the Studio mid-step: its live run read `interrupted`
// with the training since its last checkpoint (up to 500 steps) lost. Now it stops as a quit does.
void TestStudioDemo::terminateStopsTheRunCheckpointed() {
    QTemporaryDir dir;
    const std::string db = dir.filePath(QStringLiteral("runs.db")).toStdString();
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    p.setProcessEnvironment(env);
    p.start(studioBinary(), {QStringLiteral("--demo"), QStringLiteral("--db"), QString::fromStdString(db)});
    QVERIFY(p.waitForStarted());
    // The default session trains 780 steps; the signal comes once about 20 are recorded.
    int64_t stepsAtSignal = 0;
    QElapsedTimer waited;
    waited.start();
    while (stepsAtSignal <= 20 && waited.elapsed() < 120000 && p.state() == QProcess::Running) {
        QTest::qWait(50);
        try {
            RunStore store(db, RunStore::Mode::ReadOnly);
            const auto runs = store.listRuns();
            if (!runs.empty()) stepsAtSignal = runs[0].steps;
        } catch (const StoreError&) { // not created yet
        }
    }
    QVERIFY2(stepsAtSignal > 20, qPrintable(QString::fromUtf8(p.readAllStandardError())));
    p.terminate(); // SIGTERM
    QVERIFY(p.waitForFinished(120000));
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, qPrintable(err));
    QVERIFY2(err.contains(QStringLiteral("stopping")), qPrintable(err));
    RunStore store(db, RunStore::Mode::ReadOnly);
    const auto runs = store.listRuns();
    QCOMPARE(runs.size(), size_t(1));
    QVERIFY2(runs[0].status == RunStatus::Stopped, toString(runs[0].status).c_str());
    QVERIFY(runs[0].steps >= stepsAtSignal);
    const auto checkpoint = store.lastCheckpoint(runs[0].id);
    QVERIFY(checkpoint);
    QCOMPARE(checkpoint->first, runs[0].steps); // nothing trained is lost
}

QTEST_MAIN(TestStudioDemo)
#include "test_studio_demo.moc"
