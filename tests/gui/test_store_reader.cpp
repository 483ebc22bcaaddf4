// The Studio's one store reader: requests run off the UI thread and in order, a newer request with
// the same key supersedes an older one, nothing reaches a destroyed receiver, a database change
// drops what is in flight, errors come back as messages, and the destructor stops cleanly. Then
// the real main window, driven through the run browser, compare, timing, layer statistics, the step
// scrubber and the heatmap, with a SQLite observer: the UI thread never touches SQLite, and with
// every statement slowed down the UI thread still never waits.
#include "sessions/store/run_store.hpp"
#include "sessions/store/sqlite_db.hpp"
#include "sessions/store/store_error.hpp"
#include "tests/support/stored_runs.hpp"
#include "widgets/common/curve_chart.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/common/xy_chart.hpp"
#include "widgets/compare/compare_dashboard.hpp"
#include "widgets/compare/dashboard_docks.hpp"
#include "widgets/heatmap/weight_heatmap_panel.hpp"
#include "widgets/inspector/inspector_docks.hpp"
#include "widgets/inspector/step_scrubber.hpp"
#include "widgets/launch/config_form.hpp"
#include "widgets/launch/launcher_panel.hpp"
#include "widgets/layer_stats/layer_stats_panel.hpp"
#include "widgets/live/live_session_panel.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/shell/main_window.hpp"
#include "widgets/timing/timing_panel.hpp"

#include <QApplication>
#include <QElapsedTimer>
#include <QItemSelectionModel>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <QDockWidget>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

constexpr int kWaitMs = 20000;

// The SQLite observer: records calls made on the UI thread, and sleeps before every statement.
std::atomic<std::thread::id> g_uiThread{};
std::atomic<int> g_statementSleepMs{0};
std::atomic<int> g_uiCalls{0};
std::mutex g_firstUiCallMutex;
std::string g_firstUiCall;

void watchSqlite(SqliteCall call, const char* text) {
    if (std::this_thread::get_id() == g_uiThread.load() && g_uiCalls.fetch_add(1) == 0) {
        std::lock_guard<std::mutex> lock(g_firstUiCallMutex);
        g_firstUiCall = text ? text : "";
    }
    if (call == SqliteCall::Execute && g_statementSleepMs.load() > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(g_statementSleepMs.load()));
}

// Installed for its lifetime; the calling thread is the UI thread.
class SqliteWatch {
public:
    explicit SqliteWatch(int statementSleepMs = 0) {
        g_uiThread = std::this_thread::get_id();
        g_uiCalls = 0;
        g_firstUiCall.clear();
        g_statementSleepMs = statementSleepMs;
        setSqliteObserver(&watchSqlite);
    }
    ~SqliteWatch() {
        setSqliteObserver(nullptr);
        g_statementSleepMs = 0;
    }
    SqliteWatch(const SqliteWatch&) = delete;
    SqliteWatch& operator=(const SqliteWatch&) = delete;

    int uiCalls() const { return g_uiCalls.load(); }
    QString firstUiCall() const {
        std::lock_guard<std::mutex> lock(g_firstUiCallMutex);
        return QString::fromStdString(g_firstUiCall);
    }
};

// A read that holds the reader's thread until released, so that what is asked after it is queued.
class Gate {
public:
    // The work of a request: waits for release(), then returns `value`.
    auto work(int value) {
        return [this, value](RunStore&) {
            entered_ = true;
            while (!released_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            return value;
        };
    }
    bool entered() const { return entered_; }
    void release() { released_ = true; }

private:
    std::atomic<bool> entered_{false}, released_{false};
};

// An 8 x 16 layer, k = 4 in every row, shifted by the step: a snapshot of each layer with its
// active weights at steps 0, 100 and 200.
void addSnapshots(RunStore& store, int64_t id) {
    std::vector<MaskRecord> masks;
    std::vector<WeightValuesRecord> weights;
    for (int64_t step : {0, 100, 200})
        for (const char* layer : {"fc1", "fc2"}) {
            MaskRecord r;
            r.step = step;
            r.mask.name = r.stats.name = layer;
            r.mask.outFeatures = r.stats.outFeatures = 8;
            r.mask.fanIn = r.stats.fanIn = 16;
            r.mask.bits.assign(16, 0);
            for (int64_t row = 0; row < 8; ++row)
                for (int64_t c = 0; c < 4; ++c) {
                    const int64_t i = row * 16 + (row + c * 3 + step / 100) % 16;
                    r.mask.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
                }
            r.stats.k = 4;
            r.stats.active = 8;
            r.stats.sparsity = 0.75;
            r.stats.sad = step > 0 ? 16 : 0;
            masks.push_back(r);
            std::vector<float> values(32);
            for (size_t v = 0; v < values.size(); ++v) values[v] = 0.01f * static_cast<float>(v) - 0.15f;
            weights.push_back({step, layer, values});
        }
    store.addMasks(id, masks);
    store.addWeightValues(id, weights);
}

// Two finished runs with curves, snapshots and weights, and a timing row: what every dock reads.
QString studioDatabase(const QTemporaryDir& dir, const QString& name) {
    const QString path = dir.filePath(name);
    RunStore store(path.toStdString());
    for (const char* method : {"srigl", "rigl"}) {
        NewRun run = minimalRun(std::string(method) + " run");
        run.method = method;
        run.model = "mlp";
        run.dataset = "synthetic";
        run.sparsity = 0.75;
        const int64_t id = store.createRun(run);
        std::vector<Metric> metrics;
        for (int s = 1; s <= 20; ++s) metrics.push_back({s * 10, "train_loss", 2.0 / s});
        metrics.push_back({200, "test_accuracy", 0.8});
        store.addMetrics(id, metrics);
        addSnapshots(store, id);
        store.finishRun(id, RunStatus::Finished, 200, 0.8);
    }
    TimingRecord t;
    t.device = "cpu";
    t.layer = "linear 64x64";
    t.inFeatures = t.outFeatures = 64;
    t.batch = 16;
    t.sparsity = 0.9;
    t.denseUs = 10.0;
    t.condensedUs = 4.0;
    store.addTimings({t});
    return path;
}

// The longest gap between the ticks of a 10 ms timer on the UI thread.
class Heartbeat {
public:
    Heartbeat() {
        timer_.setTimerType(Qt::PreciseTimer);
        timer_.setInterval(10);
        QObject::connect(&timer_, &QTimer::timeout, [this] {
            const qint64 now = clock_.nsecsElapsed();
            if (last_ >= 0) worstMs_ = std::max(worstMs_, static_cast<double>(now - last_) / 1e6);
            last_ = now;
            ++ticks_;
        });
    }
    void start() {
        clock_.start();
        timer_.start();
    }
    void stop() { timer_.stop(); }
    double worstGapMs() const { return worstMs_; }
    int ticks() const { return ticks_; }
    double seconds() const { return static_cast<double>(clock_.nsecsElapsed()) / 1e9; }

private:
    QTimer timer_;
    QElapsedTimer clock_;
    qint64 last_ = -1;
    double worstMs_ = 0.0;
    int ticks_ = 0;
};

} // namespace

class TestStoreReader : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void observerSeesEverySqliteCall();
    void readsRunOffTheUiThreadInOrder();
    void newerRequestWithTheSameKeySupersedes();
    void resultForADestroyedContextIsDropped();
    void databaseChangeDropsWhatIsInFlight();
    void errorsComeBackAsMessages();
    void destructorStopsAfterTheCurrentRead();
    void uiThreadNeverTouchesSqlite();
    void liveRunNeverTouchesSqliteOnTheUiThread();
    void uiNeverWaitsOnASlowStore();

private:
    // Run table load and refresh, selecting runs, the inspector's step scrubber and the heatmap,
    // layer statistics, compare and timing reloads, and an edit.
    void driveTheWindow(MainWindow& w, int timeoutMs);
    QString smallDatabase(const QString& name);

    QTemporaryDir dir_;
};

void TestStoreReader::initTestCase() {
    QStandardPaths::setTestModeEnabled(true); // QSettings go to a test location, not the user's
    QApplication::setOrganizationName(QStringLiteral("srigl-tests"));
    QApplication::setApplicationName(QStringLiteral("test_store_reader"));
    QSettings().clear();
}

QString TestStoreReader::smallDatabase(const QString& name) {
    const QString path = dir_.filePath(name);
    storeRun(path.toStdString(), minimalRun(name.toStdString()));
    return path;
}

void TestStoreReader::observerSeesEverySqliteCall() {
    const QString db = smallDatabase(QStringLiteral("observed.db"));
    {
        SqliteWatch watch(50);
        QElapsedTimer clock;
        clock.start();
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        store.listRuns();
        QCOMPARE(watch.firstUiCall(), db);  // the open, with the file it opens
        QVERIFY(watch.uiCalls() >= 6);      // and every prepare and execution after it
        QVERIFY(clock.elapsed() >= 6 * 50); // each execution waited (the store's own checks and listRuns)
    }
    const int seen = g_uiCalls.load();
    RunStore(db.toStdString(), RunStore::Mode::ReadOnly).listRuns(); // uninstalled: nothing is observed
    QCOMPARE(g_uiCalls.load(), seen);
}

void TestStoreReader::readsRunOffTheUiThreadInOrder() {
    StoreReader reader;
    reader.setDatabase(smallDatabase(QStringLiteral("order.db")));
    QObject context;
    const auto ui = std::this_thread::get_id();
    std::atomic<int> onUiThread{0};
    std::vector<int> got;
    bool deliveredOnUi = true;
    for (int i = 0; i < 20; ++i)
        reader.request(
            &context, QString(),
            [i, ui, &onUiThread](RunStore& store) {
                if (std::this_thread::get_id() == ui) ++onUiThread;
                store.listRuns();
                return i;
            },
            [&](int value) {
                deliveredOnUi = deliveredOnUi && std::this_thread::get_id() == ui;
                got.push_back(value);
            });
    QTRY_COMPARE_WITH_TIMEOUT(got.size(), size_t(20), kWaitMs);
    for (int i = 0; i < 20; ++i) QCOMPARE(got[static_cast<size_t>(i)], i);
    QCOMPARE(onUiThread.load(), 0);
    QVERIFY(deliveredOnUi);
}

void TestStoreReader::newerRequestWithTheSameKeySupersedes() {
    StoreReader reader;
    reader.setDatabase(smallDatabase(QStringLiteral("keys.db")));
    QObject panel, other;
    std::atomic<int> ran{0};
    QStringList got;
    auto counted = [&ran](int value) {
        return [&ran, value](RunStore&) {
            ++ran;
            return value;
        };
    };
    auto note = [&got](const QString& name) { return [&got, name](int) { got << name; }; };

    // Queued, not started: dropped without running.
    Gate gate;
    const auto blocker = reader.request(&panel, QStringLiteral("gate"), gate.work(0), note(QStringLiteral("gate")));
    QTRY_VERIFY_WITH_TIMEOUT(gate.entered(), kWaitMs);
    const auto a = reader.request(&panel, QStringLiteral("stats"), counted(1), note(QStringLiteral("a")));
    const auto b = reader.request(&panel, QStringLiteral("stats"), counted(2), note(QStringLiteral("b")));
    const auto c =
        reader.request(&other, QStringLiteral("stats"), counted(3), note(QStringLiteral("c"))); // another receiver
    const auto d = reader.request(&panel, QString(), counted(4), note(QStringLiteral("d")));    // no key
    QVERIFY(!reader.isPending(a));
    QVERIFY(reader.isPending(b) && reader.isPending(c) && reader.isPending(d));
    gate.release();
    QTRY_VERIFY_WITH_TIMEOUT(
        !reader.isPending(blocker) && !reader.isPending(b) && !reader.isPending(c) && !reader.isPending(d), kWaitMs);
    QCOMPARE(got, (QStringList{"gate", "b", "c", "d"}));
    QCOMPARE(ran.load(), 3); // a never ran

    // Running: it finishes, and its result is dropped when it comes back.
    got.clear();
    Gate running;
    const auto old = reader.request(&panel, QStringLiteral("stats"), running.work(5), note(QStringLiteral("old")));
    QTRY_VERIFY_WITH_TIMEOUT(running.entered(), kWaitMs);
    const auto newer = reader.request(&panel, QStringLiteral("stats"), counted(6), note(QStringLiteral("newer")));
    QVERIFY(!reader.isPending(old));
    running.release();
    QTRY_VERIFY_WITH_TIMEOUT(!reader.isPending(newer), kWaitMs);
    QCoreApplication::processEvents(); // anything still on its way
    QCOMPARE(got, QStringList{QStringLiteral("newer")});
}

void TestStoreReader::resultForADestroyedContextIsDropped() {
    StoreReader reader;
    reader.setDatabase(smallDatabase(QStringLiteral("context.db")));
    auto context = std::make_unique<QObject>();
    bool delivered = false;
    Gate gate;
    const auto running = reader.request(
        context.get(), QString(), gate.work(1), [&](int) { delivered = true; },
        [&](const QString&) { delivered = true; });
    QTRY_VERIFY_WITH_TIMEOUT(gate.entered(), kWaitMs);
    const auto queued = reader.request(
        context.get(), QString(), [](RunStore& store) { return store.listRuns().size(); },
        [&](size_t) { delivered = true; });
    context.reset();
    gate.release();
    QTRY_VERIFY_WITH_TIMEOUT(!reader.isPending(running) && !reader.isPending(queued), kWaitMs);
    QCoreApplication::processEvents();
    QVERIFY(!delivered);
}

void TestStoreReader::databaseChangeDropsWhatIsInFlight() {
    const QString first = smallDatabase(QStringLiteral("first.db")),
                  second = smallDatabase(QStringLiteral("second.db"));
    StoreReader reader;
    reader.setDatabase(first);
    QObject context;
    QStringList got;
    std::atomic<bool> queuedRan{false};
    Gate gate;
    const auto running = reader.request(&context, QString(), gate.work(1), [&](int) { got << "running"; });
    QTRY_VERIFY_WITH_TIMEOUT(gate.entered(), kWaitMs);
    const auto queued = reader.request(
        &context, QStringLiteral("runs"),
        [&queuedRan](RunStore& store) {
            queuedRan = true;
            return store.listRuns().size();
        },
        [&](size_t) { got << "queued"; });
    // An edit queued behind them is written all the same, to the file it names.
    const auto edit = reader.write(
        &context, first, RunStore::Mode::ReadWriteExisting,
        [](RunStore& store) {
            store.setNotes(1, "kept");
            return true;
        },
        [&](bool) { got << "edit"; });
    reader.setDatabase(second);
    QCOMPARE(reader.database(), second);
    QVERIFY(!reader.isPending(running) && !reader.isPending(queued));
    QVERIFY(reader.isPending(edit));
    QString readFrom;
    const auto after = reader.request(
        &context, QString(), [](RunStore& store) { return store.path(); },
        [&](std::string path) { readFrom = QString::fromStdString(path); });
    gate.release();
    QTRY_VERIFY_WITH_TIMEOUT(!reader.isPending(edit) && !reader.isPending(after), kWaitMs);
    QCoreApplication::processEvents();
    QCOMPARE(got, QStringList{QStringLiteral("edit")});
    QVERIFY(!queuedRan);
    QCOMPARE(readFrom, second); // the next read opened the new database
    QCOMPARE(RunStore(first.toStdString(), RunStore::Mode::ReadOnly).run(1).notes, std::string("kept"));
    // The same database again changes nothing.
    Gate still;
    const auto kept = reader.request(&context, QString(), still.work(2), [&](int) { got << "kept"; });
    reader.setDatabase(second);
    QVERIFY(reader.isPending(kept));
    still.release();
    QTRY_COMPARE_WITH_TIMEOUT(int(got.size()), 2, kWaitMs);
}

void TestStoreReader::errorsComeBackAsMessages() {
    StoreReader reader;
    QObject context;
    QStringList errors;
    bool succeeded = false;
    auto fail = [&errors](const QString& message) { errors << message; };
    auto ok = [&succeeded](auto) { succeeded = true; };
    reader.request(
        &context, QString(), [](RunStore& store) { return store.listRuns().size(); }, ok, fail);
    QTRY_COMPARE_WITH_TIMEOUT(int(errors.size()), 1, kWaitMs);
    QVERIFY2(errors.last().contains(QStringLiteral("no database is open")), qPrintable(errors.last()));

    reader.setDatabase(dir_.filePath(QStringLiteral("missing.db"))); // read-only: never created
    reader.request(
        &context, QString(), [](RunStore& store) { return store.listRuns().size(); }, ok, fail);
    QTRY_COMPARE_WITH_TIMEOUT(int(errors.size()), 2, kWaitMs);
    QVERIFY2(errors.last().contains(QStringLiteral("no such database")), qPrintable(errors.last()));
    QVERIFY(!QFile::exists(dir_.filePath(QStringLiteral("missing.db"))));

    reader.setDatabase(smallDatabase(QStringLiteral("errors.db")));
    reader.request(
        &context, QString(), [](RunStore& store) { return store.run(424242).id; }, ok, fail);
    reader.request(
        &context, QString(), [](RunStore&) -> int { throw std::runtime_error("not a store error"); }, ok, fail);
    reader.request(
        &context, QString(), [](RunStore& store) { return store.listRuns().size(); }, ok, fail);
    QTRY_VERIFY_WITH_TIMEOUT(succeeded, kWaitMs); // a failed read does not stop the ones after it
    QCOMPARE(int(errors.size()), 4);
    QVERIFY2(errors[2].contains(QStringLiteral("424242")), qPrintable(errors[2]));
    QCOMPARE(errors[3], QStringLiteral("not a store error"));
}

void TestStoreReader::destructorStopsAfterTheCurrentRead() {
    auto reader = std::make_unique<StoreReader>();
    reader->setDatabase(smallDatabase(QStringLiteral("stop.db")));
    QObject context;
    std::atomic<bool> entered{false}, finished{false}, nextRan{false};
    bool delivered = false;
    reader->request(
        &context, QString(),
        [&](RunStore& store) {
            entered = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            finished = true;
            return store.listRuns().size();
        },
        [&](size_t) { delivered = true; });
    reader->request(
        &context, QString(),
        [&](RunStore&) {
            nextRan = true;
            return 0;
        },
        [&](int) { delivered = true; });
    QTRY_VERIFY_WITH_TIMEOUT(entered, kWaitMs);
    reader.reset();
    QVERIFY(finished); // the read in progress ended before the thread did
    QVERIFY(!nextRan);
    QCoreApplication::processEvents();
    QVERIFY(!delivered);
}

void TestStoreReader::driveTheWindow(MainWindow& w, int timeoutMs) {
    auto* model = w.runBrowser()->model();
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 2, timeoutMs);
    // The run table refreshes: all of it, and one run (what the live run's row does).
    QSignalSpy reset(model, &QAbstractItemModel::modelReset);
    w.runBrowser()->reload();
    QVERIFY(reset.wait(timeoutMs));
    QSignalSpy changed(model, &QAbstractItemModel::dataChanged);
    model->refreshRun(model->run(0).id);
    QVERIFY(changed.wait(timeoutMs));

    // Selecting a run: layer statistics, the timing panel and the step scrubber follow it, and the
    // scrubber's latest step reaches the inspector's source and the heatmap.
    QTableView* view = w.runBrowser()->view();
    const QModelIndex first = view->model()->index(0, 0);
    view->selectionModel()->setCurrentIndex(first, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    const qint64 runId = first.data(RunTableModel::RunIdRole).toLongLong();
    LayerStatsPanel* stats = w.dashboards()->layerStats();
    QCOMPARE(stats->runId(), runId);
    QTRY_VERIFY_WITH_TIMEOUT(!stats->loading() && stats->table()->rowCount() == 2, timeoutMs);
    StepScrubber* scrubber = w.inspectors()->scrubber();
    QTRY_COMPARE_WITH_TIMEOUT(scrubber->steps().size(), size_t(3), timeoutMs);
    WeightHeatmapPanel* heatmap = w.inspectors()->heatmap();
    w.inspectors()->docks().back()->raise(); // a heatmap hidden behind the inspector renders nothing
    QTRY_VERIFY_WITH_TIMEOUT(heatmap->status().contains(QStringLiteral("at step 200:")), timeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!heatmap->image().isNull(), timeoutMs);

    // Scrubbing: the heatmap and the layer statistics show the step the user picked.
    scrubber->selectStep(100);
    QTRY_VERIFY_WITH_TIMEOUT(heatmap->status().contains(QStringLiteral("at step 100:")), timeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(stats->table()->item(0, 1)->text(), QStringLiteral("100"), timeoutMs);
    scrubber->selectStep(0);
    QTRY_VERIFY_WITH_TIMEOUT(heatmap->status().contains(QStringLiteral("at step 0:")), timeoutMs);

    // A second run selected: the compare dashboard reads both runs' curves; then reloads.
    view->selectionModel()->select(view->model()->index(1, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
    CompareDashboard* compare = w.dashboards()->compare();
    QTRY_VERIFY_WITH_TIMEOUT(compare->lossChart()->seriesCount() == 2 && !compare->loading(), timeoutMs);
    compare->reload();
    QVERIFY(compare->loading());
    QTRY_VERIFY_WITH_TIMEOUT(!compare->loading() && compare->lossChart()->seriesCount() == 2, timeoutMs);

    // The timing panel reads its rows again.
    TimingPanel* timing = w.dashboards()->timing();
    timing->resultsTable()->setRowCount(0);
    timing->reloadResults();
    QTRY_COMPARE_WITH_TIMEOUT(timing->resultsTable()->rowCount(), 1, timeoutMs);

    // An edit is written on the reader's thread and read back with the next reload.
    const int row = model->rowOfRun(runId);
    QVERIFY(model->setData(model->index(row, RunTableModel::Notes), QStringLiteral("checked"), Qt::EditRole));
    w.runBrowser()->reload();
    QVERIFY(reset.wait(timeoutMs));
    QCOMPARE(model->index(model->rowOfRun(runId), RunTableModel::Notes).data().toString(), QStringLiteral("checked"));
}

void TestStoreReader::uiThreadNeverTouchesSqlite() {
    const QString db = studioDatabase(dir_, QStringLiteral("ui.db"));
    SqliteWatch watch;
    {
        MainWindow w({db, false});
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        driveTheWindow(w, kWaitMs);
        if (QTest::currentTestFailed()) return;
    }
    QVERIFY2(watch.uiCalls() == 0, qPrintable(QStringLiteral("%1 SQLite calls on the UI thread, the first: %2")
                                                  .arg(watch.uiCalls())
                                                  .arg(watch.firstUiCall())));
}

void TestStoreReader::liveRunNeverTouchesSqliteOnTheUiThread() {
    const QString db = dir_.filePath(QStringLiteral("live.db")); // created by the window
    SqliteWatch watch;
    {
        MainWindow w({db, false});
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto* form = w.launcher()->form();
        const std::pair<const char*, const char*> tiny[] = {{"hidden", "16"},          {"synthetic_train", "640"},
                                                            {"synthetic_test", "100"}, {"batch_size", "32"},
                                                            {"epochs", "1"},           {"log_every", "2"}};
        for (const auto& [key, value] : tiny) form->setValue(QString::fromLatin1(key), QString::fromLatin1(value));
        form->validateNow();
        QVERIFY(form->isValid());
        QVERIFY(w.startFromLauncher());
        auto& controller = w.liveSession()->controller();
        // While it trains, the browser's row, layer statistics and the scrubber follow it; when it
        // ends, the curves are filled in from the store.
        QTRY_VERIFY_WITH_TIMEOUT(isTerminal(controller.snapshot().state), 120000);
        QCOMPARE(toString(controller.snapshot().state), std::string("finished"));
        QTRY_COMPARE_WITH_TIMEOUT(w.runBrowser()->model()->rowCount(), 1, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(w.runBrowser()->model()->index(0, RunTableModel::Status).data().toString(),
                                  QStringLiteral("finished"), kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(w.liveSession()->lossChart()->pointCount(0), 10, kWaitMs); // every 2nd of 20 steps
        QTRY_VERIFY_WITH_TIMEOUT(!w.inspectors()->scrubber()->steps().empty(), kWaitMs);
        // Layer statistics follow the live run from its publications; hidden behind the live session
        // they draw when shown.
        w.findChild<QDockWidget*>(QStringLiteral("layerStatsDock"))->raise();
        QTRY_VERIFY_WITH_TIMEOUT(w.dashboards()->layerStats()->table()->rowCount() > 0, kWaitMs);
    }
    QVERIFY2(watch.uiCalls() == 0, qPrintable(QStringLiteral("%1 SQLite calls on the UI thread, the first: %2")
                                                  .arg(watch.uiCalls())
                                                  .arg(watch.firstUiCall())));
}

void TestStoreReader::uiNeverWaitsOnASlowStore() {
    const QString db = studioDatabase(dir_, QStringLiteral("slow.db"));
    constexpr int kSleepMs = 300; // before every statement, on whichever thread runs it
    SqliteWatch watch(kSleepMs);
    Heartbeat heartbeat;
    {
        MainWindow w({db, false});
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        heartbeat.start(); // the window's first reads are still on their way
        driveTheWindow(w, 120000);
        heartbeat.stop();
        if (QTest::currentTestFailed()) return;
    }
    std::printf("slow store (%d ms a statement): %d ticks in %.1f s, worst gap %.1f ms\n", kSleepMs, heartbeat.ticks(),
                heartbeat.seconds(), heartbeat.worstGapMs());
    std::fflush(stdout);
    QCOMPARE(watch.uiCalls(), 0);
    // A single statement on the UI thread would stall it for the whole sleep.
    QVERIFY2(heartbeat.worstGapMs() < kSleepMs / 2.0,
             qPrintable(QStringLiteral("worst gap %1 ms").arg(heartbeat.worstGapMs())));
}

QTEST_MAIN(TestStoreReader)
#include "test_store_reader.moc"
