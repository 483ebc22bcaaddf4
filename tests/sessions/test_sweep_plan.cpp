// Sweeps: a grid parsed and expanded in a fixed order into validated configs, every bad key or
// value refused with a message naming it; and the sweep tables of the store (points linked to
// runs, interrupted sweeps, runs listed per sweep, migration of a schema-3 file).
#include <QtTest>

#include <cmath>

#include "tests/support/guarded.hpp"

#include "engine/errors.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/session/sweep_plan.hpp"
#include "sessions/store/sweep_store.hpp"

#include <QTemporaryDir>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace srigl;
using namespace srigl::sessions;

namespace {

std::optional<std::string> configErrorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return std::string(e.what());
    } catch (const std::exception& e) {
        return std::string("<other exception: ") + e.what() + ">";
    }
    return std::nullopt;
}

bool mentions(const std::optional<std::string>& msg, std::initializer_list<const char*> words) {
    if (!msg || msg->rfind("<other", 0) == 0) return false;
    for (const char* w : words)
        if (msg->find(w) == std::string::npos) return false;
    return true;
}

RunConfig tiny() {
    RunConfig c;
    c.hidden = "32,16";
    c.synthetic_train = 256;
    c.synthetic_test = 64;
    return c;
}

std::vector<SweepPointRow> rowsOf(const std::vector<SweepPoint>& points) {
    std::vector<SweepPointRow> rows;
    for (const auto& p : points) rows.push_back({p.index, p.label(), configToJson(p.config, -1), 0, PointStatus::Pending});
    return rows;
}

} // namespace

class TestSweepPlan : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parseAxis();
    void badAxesNameTheProblem();
    void expandsInOdometerOrder();
    void badValuesFailBeforeAnythingRuns();
    void thresholdPointsAreSteeredToTheGridsSparsity();
    void gridJsonRoundTrip();
    void sweepStoreRoundTrip();
    void sweepOfDeadProcessBecomesInterrupted();
    void listRunsOfASweep();
};

void TestSweepPlan::parseAxis() {
    guarded([&] {
        auto a = parseGridAxis("method=srigl,rigl");
        QCOMPARE(a.key, std::string("method"));
        QCOMPARE(a.values, (std::vector<std::string>{"srigl", "rigl"}));
        a = parseGridAxis("seed=7");
        QCOMPARE(a.values, std::vector<std::string>{"7"});
        // Values with commas use '|'.
        a = parseGridAxis("hidden=300,100|500,300");
        QCOMPARE(a.values, (std::vector<std::string>{"300,100", "500,300"}));
    });
}

void TestSweepPlan::badAxesNameTheProblem() {
    QVERIFY(mentions(configErrorOf([] { parseGridAxis("methd=srigl"); }), {"methd", "unknown"}));
    QVERIFY(mentions(configErrorOf([] { parseGridAxis("method"); }), {"key=value"}));
    QVERIFY(mentions(configErrorOf([] { parseGridAxis("=srigl"); }), {"key=value"}));
    QVERIFY(mentions(configErrorOf([] { parseGridAxis("seed="); }), {"seed", "no values"}));
    QVERIFY(mentions(configErrorOf([] { parseGridAxis("seed=1,,2"); }), {"seed", "empty"}));
    QVERIFY(mentions(configErrorOf([] { parseGridAxis("seed=1,2,"); }), {"seed"}));
    QVERIFY(mentions(configErrorOf([] { parseGridAxis("seed=1,2,1"); }), {"seed", "twice"}));
    QVERIFY(mentions(configErrorOf([] { expandGrid(tiny(), {}); }), {"--grid"}));
    QVERIFY(mentions(configErrorOf([] { expandGrid(tiny(), {parseGridAxis("seed=1,2"), parseGridAxis("seed=3")}); }),
                     {"seed", "two grids"}));
}

void TestSweepPlan::expandsInOdometerOrder() {
    guarded([&] {
        const auto points = expandGrid(tiny(), {parseGridAxis("method=srigl,rigl"), parseGridAxis("sparsity=0.5,0.9"),
                                                parseGridAxis("seed=1,2,3")});
        QCOMPARE(points.size(), size_t(12));
        QCOMPARE(points[0].label(), std::string("method=srigl sparsity=0.5 seed=1"));
        QCOMPARE(points[1].label(), std::string("method=srigl sparsity=0.5 seed=2"));
        QCOMPARE(points[3].label(), std::string("method=srigl sparsity=0.9 seed=1"));
        QCOMPARE(points[11].label(), std::string("method=rigl sparsity=0.9 seed=3"));
        for (size_t i = 0; i < points.size(); ++i) {
            QCOMPARE(points[i].index, static_cast<int64_t>(i));
            // The base config is kept; the grid's keys are applied.
            QCOMPARE(points[i].config.hidden, std::string("32,16"));
            QCOMPARE(points[i].config.method, points[i].assignment[0].second);
            QCOMPARE(configValue(points[i].config, "seed"), points[i].assignment[2].second);
        }
        QCOMPARE(points[4].config.sparsity, 0.9);
    });
}

void TestSweepPlan::badValuesFailBeforeAnythingRuns() {
    // A value the key does not take; a sparsity out of range; one the model cannot have (k < 1).
    QVERIFY(mentions(configErrorOf([] { expandGrid(tiny(), {parseGridAxis("method=srigl,magic")}); }),
                     {"grid point 2", "method=magic", "magic"}));
    QVERIFY(mentions(configErrorOf([] { expandGrid(tiny(), {parseGridAxis("sparsity=0.5,1.5")}); }),
                     {"grid point 2", "sparsity"}));
    QVERIFY(mentions(configErrorOf([] { expandGrid(tiny(), {parseGridAxis("seed=1,x")}); }), {"seed", "x"}));
    RunConfig uniform = tiny();
    uniform.distribution = "uniform";
    QVERIFY(mentions(configErrorOf([&] { expandGrid(uniform, {parseGridAxis("sparsity=0.5,0.9999")}); }),
                     {"grid point 2", "sparsity"}));
}

// trainable_threshold learns its sparsity: in a grid over sparsity its points get the matching
// tt_target_density, the other methods' points nothing; an explicit target wins.
void TestSweepPlan::thresholdPointsAreSteeredToTheGridsSparsity() {
    guarded([&] {
        const auto points =
            expandGrid(tiny(), {parseGridAxis("method=srigl,trainable_threshold"), parseGridAxis("sparsity=0.5,0.9")});
        QCOMPARE(points.size(), size_t(4));
        QCOMPARE(points[0].config.tt_target_density, 0.0);
        QCOMPARE(points[1].config.tt_target_density, 0.0);
        QCOMPARE(points[2].config.method, std::string("trainable_threshold"));
        QVERIFY(std::fabs(points[2].config.tt_target_density - 0.5) < 1e-12);
        QVERIFY(std::fabs(points[3].config.tt_target_density - 0.1) < 1e-12);
        // Without a sparsity axis the method keeps its fixed alpha.
        QCOMPARE(expandGrid(tiny(), {parseGridAxis("method=trainable_threshold,srigl")})[0].config.tt_target_density, 0.0);
        // The grid's own target wins.
        const auto own = expandGrid(tiny(), {parseGridAxis("method=trainable_threshold"), parseGridAxis("sparsity=0.9"),
                                             parseGridAxis("tt_target_density=0.2,0.3")});
        QCOMPARE(own[0].config.tt_target_density, 0.2);
        QCOMPARE(own[1].config.tt_target_density, 0.3);
    });
}

void TestSweepPlan::gridJsonRoundTrip() {
    const std::vector<GridAxis> axes{parseGridAxis("method=srigl,rigl"), parseGridAxis("hidden=300,100|64")};
    const auto back = gridFromJson(gridToJson(axes));
    QCOMPARE(back.size(), size_t(2));
    QCOMPARE(back[0].key, std::string("method"));
    QCOMPARE(back[1].values, (std::vector<std::string>{"300,100", "64"}));
    QVERIFY(gridFromJson("not json").empty());
}

void TestSweepPlan::sweepStoreRoundTrip() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dir.filePath("runs.db").toStdString());
        SweepStore sweeps(store);
        const auto axes = std::vector<GridAxis>{parseGridAxis("method=srigl,rigl"), parseGridAxis("seed=1,2")};
        const auto points = expandGrid(tiny(), axes);
        const int64_t id = sweeps.createSweep("grid", configToJson(tiny(), -1), gridToJson(axes), rowsOf(points));
        SweepInfo info = sweeps.sweep(id);
        QCOMPARE(info.name, std::string("grid"));
        QVERIFY(info.status == RunStatus::Running);
        QCOMPARE(info.points, int64_t(4));
        QCOMPARE(info.done, int64_t(0));
        QCOMPARE(info.pid, int64_t(getpid()));
        QCOMPARE(info.grid, gridToJson(axes));
        auto rows = sweeps.points(id);
        QCOMPARE(rows.size(), size_t(4));
        QCOMPARE(rows[2].assignment, std::string("method=rigl seed=1"));
        QVERIFY(rows[2].status == PointStatus::Pending);
        QCOMPARE(rows[2].runId, int64_t(0));
        QCOMPARE(configFromJson(rows[2].config).method, std::string("rigl"));

        NewRun nr;
        nr.config = rows[0].config;
        const int64_t run = store.createRun(nr);
        sweeps.startPoint(id, 0, run);
        sweeps.finishPoint(id, 0, PointStatus::Finished);
        sweeps.startPoint(id, 1, store.createRun(nr));
        sweeps.finishPoint(id, 1, PointStatus::Failed);
        rows = sweeps.points(id);
        QCOMPARE(rows[0].runId, run);
        QVERIFY(rows[0].status == PointStatus::Finished);
        QVERIFY(rows[1].status == PointStatus::Failed);
        QCOMPARE(sweeps.sweep(id).done, int64_t(2));
        sweeps.finishSweep(id, RunStatus::Stopped);
        QVERIFY(sweeps.sweep(id).status == RunStatus::Stopped);
        QVERIFY(sweeps.sweep(id).finishedAt > 0);
        sweeps.reopenSweep(id);
        QVERIFY(sweeps.sweep(id).status == RunStatus::Running);
        QCOMPARE(sweeps.listSweeps().size(), size_t(1));
        // Deleting a run unlinks its point (it will be trained again), it does not lose the point.
        store.finishRun(run, RunStatus::Stopped, 0, -1); // a live run cannot be deleted
        store.deleteRun(run);
        QCOMPARE(sweeps.points(id)[0].runId, int64_t(0));
        QVERIFY_THROWS_EXCEPTION(StoreError, sweeps.sweep(999));
        QVERIFY_THROWS_EXCEPTION(StoreError, sweeps.points(999));
        for (auto s : {PointStatus::Pending, PointStatus::Running, PointStatus::Finished, PointStatus::Failed,
                       PointStatus::Interrupted, PointStatus::Stopped})
            QVERIFY(parsePointStatus(toString(s)) == s);
        QVERIFY_THROWS_EXCEPTION(StoreError, parsePointStatus("bogus"));
    });
}

void TestSweepPlan::sweepOfDeadProcessBecomesInterrupted() {
    guarded([&] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("runs.db").toStdString();
        { RunStore create(path); }
        // A child process creates a sweep, starts its first point and dies without a word.
        const pid_t child = fork();
        if (child == 0) {
            try {
                RunStore store(path);
                SweepStore sweeps(store);
                const auto axes = std::vector<GridAxis>{parseGridAxis("seed=1,2")};
                const int64_t id = sweeps.createSweep("", "{}", gridToJson(axes), rowsOf(expandGrid(tiny(), axes)));
                NewRun nr;
                nr.config = "{}";
                sweeps.startPoint(id, 0, store.createRun(nr));
            } catch (...) {
                _exit(1);
            }
            _exit(0);
        }
        int status = 0;
        waitpid(child, &status, 0);
        QVERIFY(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        RunStore store(path);
        SweepStore sweeps(store);
        // Read as interrupted at once (a reader writes nothing); markInterrupted stores it.
        QVERIFY(sweeps.sweep(1).status == RunStatus::Interrupted);
        QCOMPARE(sweeps.markInterrupted(), 1);
        QVERIFY(sweeps.sweep(1).status == RunStatus::Interrupted);
        const auto rows = sweeps.points(1);
        QVERIFY(rows[0].status == PointStatus::Interrupted);
        QVERIFY(rows[1].status == PointStatus::Pending);
        QCOMPARE(sweeps.markInterrupted(), 0);
        // A sweep of this (living) process is left alone.
        const int64_t mine = sweeps.createSweep("", "{}", "[]", {});
        QCOMPARE(sweeps.markInterrupted(), 0);
        QVERIFY(sweeps.sweep(mine).status == RunStatus::Running);
    });
}

void TestSweepPlan::listRunsOfASweep() {
    guarded([&] {
        QTemporaryDir dir;
        RunStore store(dir.filePath("runs.db").toStdString());
        SweepStore sweeps(store);
        NewRun nr;
        nr.config = "{}";
        const int64_t loose = store.createRun(nr);
        const auto axes = std::vector<GridAxis>{parseGridAxis("seed=1,2")};
        const int64_t a = sweeps.createSweep("a", "{}", gridToJson(axes), rowsOf(expandGrid(tiny(), axes)));
        const int64_t b = sweeps.createSweep("b", "{}", gridToJson(axes), rowsOf(expandGrid(tiny(), axes)));
        const int64_t r1 = store.createRun(nr), r2 = store.createRun(nr), r3 = store.createRun(nr);
        sweeps.startPoint(a, 0, r1);
        sweeps.startPoint(a, 1, r2);
        sweeps.startPoint(b, 0, r3);
        RunFilter f;
        f.sweep = a;
        std::vector<int64_t> ids;
        for (const auto& r : store.listRuns(f)) ids.push_back(r.id);
        QCOMPARE(ids, (std::vector<int64_t>{r1, r2}));
        f.sweep = b;
        QCOMPARE(store.listRuns(f).size(), size_t(1));
        QCOMPARE(store.listRuns().size(), size_t(4));
        QVERIFY(loose > 0);
    });
}

QTEST_GUILESS_MAIN(TestSweepPlan)
#include "test_sweep_plan.moc"
