// The analysis docks inside the main window: compare, layer statistics and timing docks with the
// Analysis and Export menus (Help stays last), the run browser's selection feeding them, and a
// picture of each dock that is not blank. With SRIGL_SCREENSHOT_DIR set (and SRIGL_SCREENSHOT_DB
// naming a database of real runs) the pictures are saved for docs/studio.md; run under xvfb-run
// for a real window. Without SRIGL_SCREENSHOT_DB it trains nine tiny runs for them first.
#include "engine/config/run_config.hpp"
#include "sessions/session/bench_job.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/session/session.hpp"
#include "widgets/compare/compare_dashboard.hpp"
#include "widgets/compare/dashboard_docks.hpp"
#include "widgets/layer_stats/layer_stats_panel.hpp"
#include "widgets/shell/main_window.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_filter_proxy.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/common/theme.hpp"
#include "widgets/timing/timing_panel.hpp"

#include <QApplication>
#include <QCheckBox>
#include <QDockWidget>
#include <QImage>
#include <QItemSelectionModel>
#include <QMenuBar>
#include <QSet>
#include <QSettings>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

class TestDashboardWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void addsTheDocksAndMenus();
    void browserSelectionFeedsTheDocks();
    void eachDockPaintsSomething();

private:
    QString makeDatabase(const QString& name);
    QString trainDatabase(const QString& name);
    QTemporaryDir dir_;
};

void TestDashboardWindow::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("srigl-tests"));
    QApplication::setApplicationName(QStringLiteral("test_dashboard_window"));
    QSettings().clear();
    applyTheme(Theme::Dark);
}

QString TestDashboardWindow::makeDatabase(const QString& name) {
    const QString db = dir_.filePath(name);
    RunStore store(db.toStdString());
    for (const char* method : {"srigl", "rigl", "set"}) {
        NewRun n;
        n.name = std::string(method) + "-90";
        n.method = method;
        n.model = "mlp";
        n.dataset = "synthetic";
        n.sparsity = 0.9;
        n.config = std::string(R"({"method":")") + method + R"(","sparsity":0.9})";
        const int64_t id = store.createRun(n);
        std::vector<Metric> metrics;
        for (int s = 1; s <= 20; ++s) metrics.push_back({s * 10, "train_loss", 2.0 / s});
        metrics.push_back({200, "test_accuracy", 0.8});
        store.addMetrics(id, metrics);
        store.finishRun(id, RunStatus::Finished, 200, 0.8);
    }
    return db;
}

// Real runs for the documentation's pictures: tiny MLPs on the synthetic digits, three methods at
// three sparsities, plus a small synthetic-layer bench in the timings table.
QString TestDashboardWindow::trainDatabase(const QString& name) {
    const QString db = dir_.filePath(name);
    for (const char* method : {"srigl", "rigl", "set"})
        for (const char* sparsity : {"0.8", "0.9", "0.95"}) {
            RunConfig config;
            for (const std::string& kv : {std::string("method=") + method, std::string("sparsity=") + sparsity,
                                         std::string("name=") + method + "-" + sparsity, std::string("hidden=128,64"),
                                         std::string("epochs=3"), std::string("synthetic_train=4000"),
                                         std::string("synthetic_test=1000"), std::string("delta_t=20"),
                                         std::string("log_every=10"), std::string("eval_every=50")})
                applyOverride(config, kv);
            Session session(config, db.toStdString());
            session.start();
            session.wait();
        }
    BenchJobSettings bench;
    bench.inFeatures = 512;
    bench.outFeatures = 512;
    bench.sparsities = {0.5, 0.8, 0.9, 0.95};
    bench.batches = {1, 8, 64, 256};
    bench.secondsPerVariant = 0.03;
    bench.dbPath = db.toStdString();
    runBenchJob(bench);
    return db;
}

void TestDashboardWindow::addsTheDocksAndMenus() {
    MainWindow w({makeDatabase(QStringLiteral("menus.db")), false});
    QVERIFY(w.dashboards());
    QStringList names;
    for (auto* d : w.findChildren<QDockWidget*>()) names << d->objectName();
    for (const char* name : {"compareDock", "layerStatsDock", "timingDock"}) QVERIFY2(names.contains(name), name);
    QStringList menus;
    for (auto* a : w.menuBar()->actions()) menus << a->text();
    QVERIFY(menus.contains(QStringLiteral("&Analysis")));
    QVERIFY(menus.contains(QStringLiteral("E&xport")));
    QCOMPARE(menus.last(), QStringLiteral("&Help"));
    // The compare dashboard lists the database's runs (once the browser has read them, so has it).
    QTRY_COMPARE_WITH_TIMEOUT(w.runBrowser()->model()->rowCount(), 3, 10000);
    QCOMPARE(w.dashboards()->compare()->selectedRuns().size(), 0);
    w.dashboards()->compare()->setSelectedRuns({1, 2, 3});
    QCOMPARE(w.dashboards()->compare()->selectedRuns().size(), 3);
}

void TestDashboardWindow::browserSelectionFeedsTheDocks() {
    MainWindow w({makeDatabase(QStringLiteral("select.db")), false});
    auto* view = w.runBrowser()->view();
    auto* model = view->model();
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 3, 10000); // read in the background
    view->selectionModel()->select(model->index(0, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
    const qint64 first = model->index(0, 0).data(RunTableModel::RunIdRole).toLongLong();
    QCOMPARE(w.dashboards()->browserSelection(), (QList<qint64>{first}));
    QCOMPARE(w.dashboards()->layerStats()->runId(), first);
    QVERIFY(w.dashboards()->timing()->runLayersCheck()->isEnabled());
    view->selectionModel()->select(model->index(1, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QCOMPARE(w.dashboards()->compare()->selectedRuns().size(), 2);
}

void TestDashboardWindow::eachDockPaintsSomething() {
    const QString shots = qEnvironmentVariable("SRIGL_SCREENSHOT_DIR");
    const QString realDb = qEnvironmentVariable("SRIGL_SCREENSHOT_DB");
    QString db = realDb;
    if (db.isEmpty()) db = shots.isEmpty() ? makeDatabase(QStringLiteral("shots.db")) : trainDatabase(QStringLiteral("trained.db"));
    MainWindow w({db, false});
    w.resize(1600, 1000);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QTRY_VERIFY_WITH_TIMEOUT(w.runBrowser()->model()->isOpen(), 10000);
    auto* compare = w.dashboards()->compare();
    QList<qint64> ids;
    // The 90 % runs of each method when there are such, else the first few.
    for (int row = 0; row < w.runBrowser()->model()->rowCount(); ++row)
        if (QString::fromStdString(w.runBrowser()->model()->run(row).name).endsWith(QStringLiteral("-0.9")))
            ids << w.runBrowser()->model()->run(row).id;
    for (int row = 0; ids.isEmpty() && row < std::min(4, w.runBrowser()->model()->rowCount()); ++row)
        ids << w.runBrowser()->model()->run(row).id;
    compare->setSelectedRuns(ids);
    if (!ids.isEmpty()) w.dashboards()->layerStats()->showRunStep(ids.front(), -1);
    const struct {
        QDockWidget* dock;
        const char* file;
    } docks[] = {{w.dashboards()->docks()[0], "studio_compare.png"},
                 {w.dashboards()->docks()[1], "studio_layer_stats.png"},
                 {w.dashboards()->docks()[2], "studio_timing.png"}};
    for (const auto& d : docks) {
        d.dock->show();
        d.dock->raise();
        QTest::qWait(300);
        const QImage image = w.grab().toImage();
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 4)
            for (int x = 0; x < image.width(); x += 4) colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 20, d.file);
        if (shots.isEmpty()) continue;
        // The documentation shows each dock on its own, floating at a readable size.
        d.dock->setFloating(true);
        d.dock->resize(1500, 860);
        QTest::qWait(400);
        QVERIFY(d.dock->widget()->grab().save(QDir(shots).filePath(QString::fromLatin1(d.file))));
        d.dock->setFloating(false);
    }
}

QTEST_MAIN(TestDashboardWindow)
#include "test_dashboard_window.moc"
