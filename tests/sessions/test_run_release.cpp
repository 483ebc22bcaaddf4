// A run or sweep of another machine whose process is gone (a killed cluster job, a failed node)
// stayed "running" for ever: this machine cannot check that process, so a resume or a delete was
// refused without end. `RunStore::releaseRun` / `SweepStore::releaseSweep` (srigl runs release)
// let the user say it is gone; were it alive after all, it stops writing at its next batch
// (`requireClaim`) and never writes the checkpoint of a run another process has claimed.
#include <QtTest>

#include "sessions/session/recorded_run.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"
#include "sessions/store/sweep_store.hpp"
#include "sessions/store/writer_stamp.hpp"
#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"
#include "tests/support/test_files.hpp"
#include "tests/support/tiny_configs.hpp"

#include <QTemporaryDir>

#include <string>

using namespace srigl;
using namespace srigl::sessions;

namespace {

// What a process of another machine leaves in the row it writes.
void stampAnotherMachine(const std::string& db, const char* table, int64_t id, int64_t pid = 4242) {
    RawDb(db).exec(std::string("UPDATE ") + table + " SET host = 'node07', pid = " + std::to_string(pid) +
                   ", status = 'running' WHERE id = " + std::to_string(id));
}

bool contains(const std::optional<std::string>& error, const char* words) {
    return error && error->find(words) != std::string::npos;
}

// Takes the run over from another process at `step` (as `srigl runs release` and a resume on
// another machine would), then asks for a checkpoint two steps later.
class TakeOverAt : public StepGate {
public:
    TakeOverAt(std::string db, int64_t runId, int64_t step) : db_(std::move(db)), runId_(runId), step_(step) {}
    bool beforeStep() override { return true; }
    bool afterStep(int64_t step) override {
        if (step == step_) stampAnotherMachine(db_, "runs", runId_, 999);
        return step == step_ + 2;
    }

private:
    std::string db_;
    int64_t runId_, step_;
};

} // namespace

class TestRunRelease : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void runOfAnotherMachineIsReleasedThenResumed();
    void releaseRefusesWhatThisMachineCanCheck();
    void takenOverRunStopsRecordingAndCheckpointing();
    void sweepOfAnotherMachineIsReleasedWithItsPoint();
};

void TestRunRelease::runOfAnotherMachineIsReleasedThenResumed() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir);
        const int64_t id = storeRun(db, minimalRun("on node07"), {{1, "train_loss", 0.5}});
        stampAnotherMachine(db, "runs", id);
        RunStore store(db);
        // Before: refused for ever, now with the way out.
        const auto resume = storeErrorOf([&] { store.reopenRun(id, -1); });
        QVERIFY2(contains(resume, "process 4242 on node07") && contains(resume, "srigl runs release 1"),
                 resume.value_or("no error").c_str());
        const auto remove = storeErrorOf([&] { store.deleteRun(id); });
        QVERIFY2(contains(remove, "srigl runs release 1"), remove.value_or("no error").c_str());

        const RunInfo was = store.releaseRun(id);
        QCOMPARE(was.host, std::string("node07"));
        QCOMPARE(was.pid, int64_t(4242));
        QVERIFY(store.run(id).status == RunStatus::Interrupted);
        QCOMPARE(int(store.metrics(id).size()), 1); // nothing else changed
        store.reopenRun(id, -1);
        const RunInfo now = store.run(id);
        QVERIFY(now.status == RunStatus::Running);
        QCOMPARE(now.host, hostName());
        QCOMPARE(now.pid, currentPid());
        store.requireClaim(id); // ours now
    });
}

void TestRunRelease::releaseRefusesWhatThisMachineCanCheck() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir);
        RunStore store(db);
        const int64_t live = store.createRun(minimalRun("this process")); // running, by this process
        const auto alive = storeErrorOf([&] { store.releaseRun(live); });
        QVERIFY2(contains(alive, "on this machine, which is alive; stop it instead"), alive.value_or("no error").c_str());
        store.finishRun(live, RunStatus::Finished, 10, 0.9);
        const auto finished = storeErrorOf([&] { store.releaseRun(live); });
        QVERIFY2(contains(finished, "is finished, not running: nothing to release"), finished.value_or("no error").c_str());
        // A dead process of this machine: already read as interrupted, resumable as it is.
        const int64_t dead = store.createRun(minimalRun("killed here"));
        RawDb(db).exec("UPDATE runs SET pid = 2147483646 WHERE id = " + std::to_string(dead));
        const auto gone = storeErrorOf([&] { store.releaseRun(dead); });
        QVERIFY2(contains(gone, "srigl train --resume continues it"), gone.value_or("no error").c_str());
        QVERIFY(contains(storeErrorOf([&] { store.releaseRun(99); }), "no run with id 99"));
    });
}

void TestRunRelease::takenOverRunStopsRecordingAndCheckpointing() {
    guarded([] {
        QTemporaryDir dir;
        RunRequest request;
        request.config = tinyRunConfig("16", 16, 2); // 32 steps
        request.dbPath = dbIn(dir);
        RecordedRun run(request, nullptr);
        const int64_t id = run.runId();
        TakeOverAt gate(request.dbPath, id, 8);
        const RunEnd end = run.train(&gate);
        // The checkpoint after the take-over is refused, and training ends with the reason.
        QVERIFY2(end.failure.find("was taken over by process 999 on node07") != std::string::npos, end.failure.c_str());
        QVERIFY2(end.storeError.find("taken over") != std::string::npos, end.storeError.c_str());
        RunStore store(request.dbPath, RunStore::Mode::ReadOnly);
        const RunInfo info = store.run(id);
        // The row is the new writer's: not marked failed or finished by the old one.
        QVERIFY(info.status == RunStatus::Running);
        QCOMPARE(info.host, std::string("node07"));
        QCOMPARE(info.pid, int64_t(999));
        // Nothing recorded after the take-over: no metric beyond the batch it was found in, and no
        // checkpoint after step 8 (the file is the one the run wrote before, if any).
        for (const Metric& m : store.metrics(id)) QVERIFY2(m.step <= 10, qPrintable(QString::number(m.step)));
        if (const auto checkpoint = store.lastCheckpoint(id)) QVERIFY(checkpoint->first <= 8);
    });
}

void TestRunRelease::sweepOfAnotherMachineIsReleasedWithItsPoint() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir);
        RunStore store(db);
        SweepStore sweeps(store);
        std::vector<SweepPointRow> points(2);
        for (int i = 0; i < 2; ++i) {
            points[i].point = i;
            points[i].assignment = "seed=" + std::to_string(i + 1);
            points[i].config = "{}";
        }
        const int64_t sweep = sweeps.createSweep("grid", "{}", "[]", points);
        const int64_t run = store.createRun(minimalRun("point 0"));
        sweeps.startPoint(sweep, 0, run);
        stampAnotherMachine(db, "sweeps", sweep);
        stampAnotherMachine(db, "runs", run);
        // This process no longer owns it: its claim check fails, and its writes change nothing.
        const auto claim = storeErrorOf([&] { sweeps.requireClaim(sweep); });
        QVERIFY2(contains(claim, "sweep 1 was taken over by process 4242 on node07"), claim.value_or("no error").c_str());
        sweeps.finishPoint(sweep, 0, PointStatus::Failed);
        sweeps.finishSweep(sweep, RunStatus::Failed);
        QVERIFY(sweeps.sweep(sweep).status == RunStatus::Running);
        QVERIFY(sweeps.points(sweep)[0].status == PointStatus::Running);
        const auto resume = storeErrorOf([&] { sweeps.reopenSweep(sweep); });
        QVERIFY2(contains(resume, "process 4242 on node07") && contains(resume, "srigl runs release --sweep 1"),
                 resume.value_or("no error").c_str());

        sweeps.releaseSweep(sweep);
        QVERIFY(sweeps.sweep(sweep).status == RunStatus::Interrupted);
        QVERIFY(sweeps.points(sweep)[0].status == PointStatus::Interrupted);
        QVERIFY(sweeps.points(sweep)[1].status == PointStatus::Pending);
        QVERIFY(store.run(run).status == RunStatus::Interrupted);
        sweeps.reopenSweep(sweep); // now it can be resumed here
        sweeps.requireClaim(sweep);
    });
}

QTEST_GUILESS_MAIN(TestRunRelease)
#include "test_run_release.moc"
