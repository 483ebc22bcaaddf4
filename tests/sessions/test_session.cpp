// The session runner: a recorded run on a worker thread, steered by pause, single step, resume and
// stop, failing cleanly on bad input.
#include <QtTest>

#include "sessions/session/recorded_run.hpp"
#include "sessions/session/run_description.hpp"
#include "sessions/session/session.hpp"
#include "sessions/store/run_store.hpp"

#include <c10/util/Exception.h>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
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

int niceOf(long tid) {
    errno = 0;
    const int n = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
    return errno == 0 ? n : 100;
}

// Every thread of this process and its nice value.
std::map<long, int> threadNiceness() {
    std::map<long, int> out;
    QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString& name : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) out[name.toLong()] = niceOf(name.toLong());
    return out;
}

} // namespace

class TestSession : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void runsToTheEndAndRecords();
    void pauseStepResume();
    void stopEndsStoppedAndRecorded();
    void badConfigFailsWithoutARun();
    void liveLayersArePublishedAtEveryUpdate();
    void resumeContinuesTheRecordedRun();
    void errorMessagesLeaveOutLibTorchBacktraces();
    void thresholdRunIsListedAtTheSparsityItReached();
    void trainerRunsAtTheNicenessItWasGiven();
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

// The latest-value slot: one publication at the start and one per mask update, each with every
// layer's constant fan-in mask, its weights (zero outside the mask) and the masks before it; the
// recorder stores exactly what was published.
void TestSession::liveLayersArePublishedAtEveryUpdate() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    Session s(quickRun(), db);
    std::mutex m;
    std::vector<std::shared_ptr<const LiveLayers>> seen;
    s.setLiveListener([&](const std::shared_ptr<const LiveLayers>& l) {
        std::lock_guard<std::mutex> lock(m);
        seen.push_back(l);
    });
    s.start();
    s.wait();
    QCOMPARE(toString(s.snapshot().state), std::string("finished"));
    std::lock_guard<std::mutex> lock(m);
    // delta_t 8 over 128 steps with updates until 75% of training (t_end): steps 8..96.
    QVERIFY2(seen.size() >= 10, std::to_string(seen.size()).c_str());
    QCOMPARE(s.liveLayers(), seen.back());
    RunStore store(db, RunStore::Mode::ReadOnly);
    for (size_t i = 0; i < seen.size(); ++i) {
        const LiveLayers& l = *seen[i];
        QCOMPARE(l.sequence, uint64_t(i + 1));
        QCOMPARE(l.runId, s.snapshot().runId);
        QCOMPARE(l.maskUpdate, i > 0);
        QCOMPARE(l.step, i == 0 ? int64_t{0} : int64_t(8 * i));
        QCOMPARE(l.previousMasks != nullptr, i > 0);
        if (i > 0) QCOMPARE(l.previousMasks.get(), seen[i - 1]->masks.get());
        QCOMPARE(l.masks->size(), size_t{3});
        QCOMPARE(l.weights.size(), size_t{3});
        QCOMPARE(l.gradients.empty(), i == 0);
        for (size_t j = 0; j < l.masks->size(); ++j) {
            const auto& mask = (*l.masks)[j];
            const auto& w = l.weights[j];
            const auto* stats = l.layerStats(mask.name);
            QVERIFY(stats != nullptr);
            QCOMPARE(w.name, mask.name);
            int64_t ablated = 0;
            for (int64_t r = 0; r < mask.outFeatures; ++r) {
                int64_t fanIn = 0;
                for (int64_t c = 0; c < mask.fanIn; ++c) {
                    const int64_t e = r * mask.fanIn + c;
                    const bool on = mask.bits[size_t(e / 8)] >> (e % 8) & 1;
                    fanIn += on;
                    if (!on) QCOMPARE(w.values[size_t(e)], 0.0f);
                }
                if (fanIn == 0) ++ablated;
                else QCOMPARE(fanIn, stats->k); // constant fan-in at every publication
            }
            QCOMPARE(ablated, int64_t(mask.ablated.size()));
            const auto stored = store.masksAtOrBefore(l.runId, mask.name, l.step, 1);
            QCOMPARE(stored.size(), size_t{1});
            QCOMPARE(stored[0].step, l.step);
            QVERIFY(stored[0].mask.bits == mask.bits);
        }
        // The recorder stores the gradients the slot published (handed on from the publication),
        // within the store's float16-relative-to-largest precision.
        for (const auto& g : l.gradients) {
            const auto kept = store.gradientValues(l.runId, g.name, l.step);
            QCOMPARE(kept.size(), size_t{1});
            QCOMPARE(kept[0].values.size(), g.values.size());
            float largest = 0.0f;
            for (float v : g.values) largest = std::max(largest, std::fabs(v));
            for (size_t j = 0; j < g.values.size(); ++j)
                QVERIFY2(std::fabs(kept[0].values[j] - g.values[j]) <= 5e-4f * largest, g.name.c_str());
        }
    }
}

// A stopped run continued from its checkpoint in a new session: the same run, trained to the end.
void TestSession::resumeContinuesTheRecordedRun() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    RunConfig c = quickRun();
    c.checkpoint_every = 16;
    int64_t runId = 0, stoppedAt = 0;
    {
        Session s(c, db);
        s.start();
        QVERIFY(waitFor(s, [](const SessionSnapshot& x) { return x.step >= 40; }));
        s.stop();
        s.wait();
        QCOMPARE(toString(s.snapshot().state), std::string("stopped"));
        runId = s.snapshot().runId;
        stoppedAt = s.snapshot().step;
    }
    const RunRequest request = resumeRequest(db, runId);
    QCOMPARE(request.runId, runId);
    QCOMPARE(request.config.hidden, c.hidden);
    Session resumed(request);
    resumed.start();
    resumed.wait();
    const auto snap = resumed.snapshot();
    QCOMPARE(toString(snap.state), std::string("finished"));
    QCOMPARE(snap.runId, runId);
    QCOMPARE(snap.step, int64_t{128});
    QVERIFY(resumed.liveLayers() && resumed.liveLayers()->runId == runId);
    RunStore store(db, RunStore::Mode::ReadOnly);
    QVERIFY(store.run(runId).status == RunStatus::Finished);
    QCOMPARE(store.listRuns().size(), size_t{1});
    QVERIFY(store.maskSteps(runId).back() > stoppedAt);
    // A missing run or one without a checkpoint is refused by name.
    QVERIFY_THROWS_EXCEPTION(StoreError, resumeRequest(db, runId + 1));
}

void TestSession::errorMessagesLeaveOutLibTorchBacktraces() {
    try {
        TORCH_CHECK(false, "the tensor was too large");
    } catch (const std::exception& e) {
        const std::string message = errorMessage(e);
        QVERIFY2(message.find("the tensor was too large") != std::string::npos, message.c_str());
        QVERIFY2(message.find("Exception raised from") == std::string::npos, message.c_str());
        QVERIFY(message.size() < std::string(e.what()).size());
    }
    QCOMPARE(errorMessage(std::runtime_error("plain")), std::string("plain"));
}

void TestSession::thresholdRunIsListedAtTheSparsityItReached() {
    // trainable_threshold learns its sparsity: the store lists the run at 0 (its dense start) while
    // it trains and at what it reached once it ends, not at the config's unused `sparsity`.
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.db").toStdString();
    RunConfig c = quickRun();
    c.method = "trainable_threshold";
    c.tt_alpha = 0.05; // a strong pull: the masks thin out within these 128 steps
    c.sparsity = 0.9;
    QCOMPARE(describeRun(c).sparsity, 0.0);
    RunConfig targeted = c;
    targeted.tt_target_density = 0.2;
    QVERIFY(std::abs(describeRun(targeted).sparsity - 0.8) < 1e-12);

    Session s(c, db);
    s.start();
    s.wait();
    const auto snap = s.snapshot();
    QCOMPARE(toString(snap.state), std::string("finished"));
    RunStore store(db, RunStore::Mode::ReadOnly);
    // What it reached: the final masks (the summary's layers), weighted by the layers' sizes.
    QVERIFY(snap.summary.has_value());
    QCOMPARE(snap.summary->layers.size(), size_t(3));
    const double reached = reachedSparsity(snap.summary->layers);
    QVERIFY2(reached > 0.0 && std::abs(reached - c.sparsity) > 1e-3, std::to_string(reached).c_str()); // not the config's
    double zeros = 0, total = 0;
    for (const auto& l : snap.summary->layers) {
        zeros += l.sparsity * double(l.outFeatures * l.fanIn);
        total += double(l.outFeatures * l.fanIn);
    }
    QCOMPARE(reached, zeros / total);
    QCOMPARE(store.run(snap.runId).sparsity, reached);
}


// The Studio's training thread yields the cores to its UI: niced, and so is the recorder's writer
// it starts; a session not asked to keeps the caller's priority.
void TestSession::trainerRunsAtTheNicenessItWasGiven() {
#if !defined(__linux__)
    QSKIP("per-thread nice values are Linux's");
#else
    const int base = niceOf(syscall(SYS_gettid));
    if (base > 14) QSKIP("this test already runs at the lowest priorities");
    for (const int niceness : {0, 5}) {
        QTemporaryDir dir;
        Session s(quickRun(), dir.filePath("runs.db").toStdString());
        s.setTrainerNiceness(niceness);
        std::mutex m;
        int trainer = 100;
        std::map<long, int> threads;
        s.setLiveListener([&](const std::shared_ptr<const LiveLayers>&) {
            std::lock_guard<std::mutex> lock(m);
            if (trainer != 100) return;
            trainer = niceOf(syscall(SYS_gettid));
            threads = threadNiceness();
        });
        s.start();
        s.wait();
        QCOMPARE(toString(s.snapshot().state), std::string("finished"));
        std::lock_guard<std::mutex> lock(m);
        QCOMPARE(trainer, base + niceness);
        const auto lowered = std::count_if(threads.begin(), threads.end(),
                                           [&](const auto& t) { return t.second == base + niceness; });
        if (niceness > 0) QVERIFY2(lowered >= 2, "the recorder's writer did not inherit the trainer's priority");
        QCOMPARE(niceOf(syscall(SYS_gettid)), base); // the caller's own thread is untouched
    }
#endif
}

QTEST_GUILESS_MAIN(TestSession)
#include "test_session.moc"
