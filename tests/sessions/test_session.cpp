// The session runner: a recorded run on a worker thread, steered by pause, single step, resume and
// stop, failing cleanly on bad input.
#include <QtTest>

#include "sessions/store/run_store.hpp"
#include "sessions/session/session.hpp"

#include <chrono>
#include <thread>

using namespace srigl;
using namespace srigl::sessions;

namespace {

RunConfig quickRun() {
    RunConfig c;
    c.synthetic_train = 1024;
    c.synthetic_test = 256;
    c.hidden = "64,32";
    c.batch_size = 32;
    c.epochs = 4; // 128 steps
    c.delta_t = 8;
    c.threads = 1;
    return c;
}

// Polls the snapshot until pred holds (the UI's way of reading a session), at most 60 s.
template <typename Pred>
bool waitFor(const Session& s, Pred pred) {
    for (int i = 0; i < 6000; ++i) {
        if (pred(s.snapshot())) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

} // namespace

class TestSession : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void runsToTheEndAndRecords();
    void pauseStepResume();
    void stopEndsStoppedAndRecorded();
    void badConfigFailsWithoutARun();
};

void TestSession::runsToTheEndAndRecords() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    Session s(quickRun(), db);
    s.start();
    s.wait();
    const auto snap = s.snapshot();
    QCOMPARE(toString(snap.state), std::string("finished"));
    QVERIFY(snap.summary.has_value());
    QCOMPARE(snap.step, int64_t{128});
    QVERIFY(snap.lastUpdate.has_value());
    QVERIFY(snap.runId > 0);
    // The dense twin's step reaches the snapshot (the live panel) and the summary.
    QVERIFY(snap.denseReference.has_value() && snap.denseReference->measured);
    QCOMPARE(snap.summary->denseReference.stepMs, snap.denseReference->stepMs);
    QVERIFY(snap.summary->stepMs > 0);
    RunStore store(db, RunStore::Mode::ReadOnly);
    const auto run = store.run(snap.runId);
    QVERIFY(run.status == RunStatus::Finished);
    QCOMPARE(run.steps, int64_t{128});
    QVERIFY(!store.masks(snap.runId, "fc1").empty());
    QVERIFY(store.lastCheckpoint(snap.runId).has_value());
}

void TestSession::pauseStepResume() {
    Session s(quickRun(), "");
    s.pause();
    s.start();
    QVERIFY(waitFor(s, [](const SessionSnapshot& x) { return x.state == SessionState::Paused; }));
    const int64_t at = s.snapshot().step;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    QCOMPARE(s.snapshot().step, at); // paused means paused
    s.stepOnce();
    QVERIFY(waitFor(s, [&](const SessionSnapshot& x) { return x.step == at + 1 && x.state == SessionState::Paused; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    QCOMPARE(s.snapshot().step, at + 1);
    s.resume();
    s.wait();
    QCOMPARE(toString(s.snapshot().state), std::string("finished"));
    QCOMPARE(s.snapshot().step, int64_t{128});
}

void TestSession::stopEndsStoppedAndRecorded() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    RunConfig c = quickRun();
    c.epochs = 200;
    Session s(c, db);
    s.start();
    QVERIFY(waitFor(s, [](const SessionSnapshot& x) { return x.step >= 20; }));
    s.stop();
    s.wait();
    const auto snap = s.snapshot();
    QCOMPARE(toString(snap.state), std::string("stopped"));
    QVERIFY(snap.step < 200 * 32);
    RunStore store(db, RunStore::Mode::ReadOnly);
    QVERIFY(store.run(snap.runId).status == RunStatus::Stopped);
}

void TestSession::badConfigFailsWithoutARun() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    RunConfig c = quickRun();
    c.dataset = "mnist";
    c.data_dir = dir.filePath("missing").toStdString();
    Session s(c, db);
    s.start();
    s.wait();
    const auto snap = s.snapshot();
    QCOMPARE(toString(snap.state), std::string("failed"));
    QVERIFY2(QString::fromStdString(snap.error).contains("missing"), snap.error.c_str());
    QVERIFY(!QFile::exists(dir.filePath("runs.db"))); // nothing was created for a run that never started
}

QTEST_GUILESS_MAIN(TestSession)
#include "test_session.moc"
