// A run or sweep of another machine whose process is gone (a killed cluster job, a failed node)
// stayed "running" for ever: this machine cannot check that process, so a resume or a delete was
// refused without end. `RunStore::releaseRun` / `SweepStore::releaseSweep` (srigl runs release)
// let the user say it is gone; were it alive after all, it stops writing at its next batch
// (`requireClaim`) and never writes the checkpoint of a run another process has claimed.
#include <QtTest>

#include "sessions/session/recorded_run.hpp"
#include "sessions/store/recorder.hpp"
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

// What a process of another machine leaves in the row it writes, last heard from `heardAt` (by
// default an hour ago: a job that died with its node).
void stampAnotherMachine(const std::string& db, const char* table, int64_t id, int64_t pid = 4242,
                         int64_t heardAt = nowMs() - 3600 * 1000) {
    RawDb(db).exec(std::string("UPDATE ") + table + " SET host = 'node07', pid = " + std::to_string(pid) +
                   ", status = 'running', heard_at = " + std::to_string(heardAt) + " WHERE id = " + std::to_string(id));
}

// A sweep of `count` points (seed=1, 2, ...) running its first point's run: (sweep id, run id).
std::pair<int64_t, int64_t> sweepAtItsFirstPoint(RunStore& store, SweepStore& sweeps, int count) {
    std::vector<SweepPointRow> points(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        points[i].point = i;
        points[i].assignment = "seed=" + std::to_string(i + 1);
        points[i].config = "{}";
    }
    const int64_t sweep = sweeps.createSweep("grid", "{}", "[]", points);
    const int64_t run = store.createRun(minimalRun("point 0"));
    sweeps.startPoint(sweep, 0, run);
    return {sweep, run};
}

int64_t heardAt(const std::string& db, int64_t runId) {
    return RawDb(db).scalar("SELECT heard_at FROM runs WHERE id = " + std::to_string(runId));
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
    void recentlyHeardRunNeedsForce();
    void recentlyHeardSweepPointNeedsForce();
    void idleRecorderIsStillHeardFrom();
    void heartbeatAloneFindsATakeOver();
    void heardAgoReadsAsAPersonWould();
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
        const auto started = sweepAtItsFirstPoint(store, sweeps, 2);
        const int64_t sweep = started.first, run = started.second;
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

// A release is a person's word that a process they cannot see is gone; a run that wrote seconds
// ago says otherwise. Releasing it would stop a live job's recording, so it takes --force.
void TestRunRelease::recentlyHeardRunNeedsForce() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir);
        const int64_t id = storeRun(db, minimalRun("on node07"), {{1, "train_loss", 0.5}});
        stampAnotherMachine(db, "runs", id, 4242, nowMs() - 10 * 1000);
        RunStore store(db);
        const auto refused = storeErrorOf([&] { store.releaseRun(id); });
        QVERIFY2(contains(refused, "run 1 was heard from 10 s ago (process 4242 on node07)") &&
                     contains(refused, "--force"),
                 refused.value_or("no error").c_str());
        QVERIFY(store.run(id).status == RunStatus::Running);
        // A stamp from the future (that machine's clock runs ahead) is recent too.
        stampAnotherMachine(db, "runs", id, 4242, nowMs() + 60 * 1000);
        QVERIFY(contains(storeErrorOf([&] { store.releaseRun(id); }), "heard from just now"));
        // Silent just past the limit: released without asking.
        stampAnotherMachine(db, "runs", id, 4242, nowMs() - kQuietBeforeReleaseMs - 1000);
        store.releaseRun(id);
        QVERIFY(store.run(id).status == RunStatus::Interrupted);
        // And with --force whatever the stamp says.
        stampAnotherMachine(db, "runs", id, 4242, nowMs());
        store.releaseRun(id, true);
        QVERIFY(store.run(id).status == RunStatus::Interrupted);
    });
}

void TestRunRelease::recentlyHeardSweepPointNeedsForce() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir);
        RunStore store(db);
        SweepStore sweeps(store);
        const auto started = sweepAtItsFirstPoint(store, sweeps, 1);
        const int64_t sweep = started.first, run = started.second;
        // The sweep row is an hour old, but its point's run wrote a moment ago: the sweep is alive.
        stampAnotherMachine(db, "sweeps", sweep);
        stampAnotherMachine(db, "runs", run, 4242, nowMs() - 5 * 1000);
        QVERIFY(nowMs() - sweeps.sweep(sweep).heardAt < 60 * 1000);
        const auto refused = storeErrorOf([&] { sweeps.releaseSweep(sweep); });
        QVERIFY2(contains(refused, "sweep 1 was heard from") && contains(refused, "--force"),
                 refused.value_or("no error").c_str());
        QVERIFY(sweeps.sweep(sweep).status == RunStatus::Running);
        QVERIFY(store.run(run).status == RunStatus::Running);
        sweeps.releaseSweep(sweep, true);
        QVERIFY(sweeps.sweep(sweep).status == RunStatus::Interrupted);
        QVERIFY(store.run(run).status == RunStatus::Interrupted);
    });
}

// A recorder with nothing to write (a long evaluation, a paused Studio run) still stamps its run.
void TestRunRelease::idleRecorderIsStillHeardFrom() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir);
        const int64_t id = RunStore(db).createRun(minimalRun("idle"));
        QVERIFY(nowMs() - heardAt(db, id) < 60 * 1000); // stamped when created
        RawDb(db).exec("UPDATE runs SET heard_at = 1 WHERE id = " + std::to_string(id));
        Recorder recorder(db, id, {});
        recorder.setHeartbeatInterval(std::chrono::milliseconds(50));
        QTRY_VERIFY_WITH_TIMEOUT(heardAt(db, id) > 1, 5000);
        QVERIFY(nowMs() - heardAt(db, id) < 60 * 1000);
        QCOMPARE(recorder.close(), std::string());
        // A resume stamps the run it claims.
        RunStore store(db);
        store.finishRun(id, RunStatus::Stopped, 0, -1);
        RawDb(db).exec("UPDATE runs SET heard_at = 1 WHERE id = " + std::to_string(id));
        store.reopenRun(id, -1);
        QVERIFY(heardAt(db, id) > 1);
    });
}

// A process whose run was taken over while it recorded nothing learns it from its heartbeat, and
// never stamps the new owner's run.
void TestRunRelease::heartbeatAloneFindsATakeOver() {
    guarded([] {
        QTemporaryDir dir;
        const std::string db = dbIn(dir);
        const int64_t id = RunStore(db).createRun(minimalRun("taken"));
        Recorder recorder(db, id, {});
        recorder.setHeartbeatInterval(std::chrono::milliseconds(50));
        stampAnotherMachine(db, "runs", id, 999, 7);
        QTRY_VERIFY_WITH_TIMEOUT(recorder.error().find("was taken over by process 999 on node07") != std::string::npos,
                                 5000);
        QCOMPARE(heardAt(db, id), int64_t(7));
        recorder.close();
        QCOMPARE(heardAt(db, id), int64_t(7));
    });
}

void TestRunRelease::heardAgoReadsAsAPersonWould() {
    const int64_t now = 1'800'000'000'000;
    QCOMPARE(heardAgoText(0, now), std::string("never"));
    QCOMPARE(heardAgoText(now + 5000, now), std::string("just now"));
    QCOMPARE(heardAgoText(now - 14'000, now), std::string("14 s ago"));
    QCOMPARE(heardAgoText(now - 3 * 60'000, now), std::string("3 min ago"));
    QCOMPARE(heardAgoText(now - (2 * 60 + 5) * 60'000, now), std::string("2 h 5 min ago"));
    QCOMPARE(heardAgoText(now - 3 * 24 * 3600'000, now), std::string("3 days ago"));
}

QTEST_GUILESS_MAIN(TestRunRelease)
#include "test_run_release.moc"
