// The init-variance panel's facade over the engine's initOutputNormVariance: every point equals
// the engine's own result for the same settings and seed, progress comes in order, a fixed N:M is
// used at every sparsity, cancel returns nothing, and bad settings fail at once with the engine's
// message before anything long runs.
#include <QtTest>

#include "engine/errors.hpp"
#include "engine/analysis/init_variance.hpp"
#include "engine/nm/nm_pattern.hpp"
#include "sessions/session/init_variance_job.hpp"

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace srigl;
using namespace srigl::sessions;

namespace {

InitVarianceJobSettings tiny() {
    InitVarianceJobSettings s;
    s.out = 12;
    s.in = 48;
    s.sparsities = {0.5, 0.9};
    s.samples = 20;
    s.inputs = 4;
    s.seed = 7;
    return s;
}

void compareStats(const InitNormStats& got, const nm::NormStats& want) {
    QCOMPARE(got.density, want.density);
    QCOMPARE(got.mean, want.mean);
    QCOMPARE(got.variance, want.variance);
}

// The message of what `f` throws (none: nullopt).
template <typename F>
std::optional<std::string> messageOf(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
    return std::nullopt;
}

} // namespace

class TestInitVarianceJob : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void everyPointIsTheEnginesResult();
    void fixedNmAtEverySparsity();
    void cancelReturnsNothing();
    void badSettingsFailWithTheEngineMessage();
};

void TestInitVarianceJob::everyPointIsTheEnginesResult() {
    InitVarianceJobSettings s = tiny();
    s.layerAverageScale = true;
    std::vector<InitVarianceProgress> reports;
    const auto points = runInitVarianceJob(s, [&](const InitVarianceProgress& p) { reports.push_back(p); });
    QCOMPARE(points.size(), s.sparsities.size());
    for (size_t i = 0; i < points.size(); ++i) {
        nm::InitVarianceOptions o;
        o.out = s.out;
        o.in = s.in;
        o.sparsity = s.sparsities[i];
        o.samples = s.samples;
        o.inputs = s.inputs;
        o.seed = s.seed;
        o.scale = nm::InitScale::LayerAverage;
        const nm::InitVarianceResult want = nm::initOutputNormVariance(o);
        QCOMPARE(points[i].sparsity, s.sparsities[i]);
        QCOMPARE(points[i].nm, want.nm.toString());
        compareStats(points[i].dense, want.dense);
        compareStats(points[i].unstructured, want.unstructured);
        compareStats(points[i].constantFanIn, want.constantFanIn);
        compareStats(points[i].nmMask, want.nmMask);
        QVERIFY(points[i].dense.variance > 0.0);
    }
    QCOMPARE(points[0].nm, std::string("2:4")); // density 0.5
    QCOMPARE(reports.size(), size_t(3)); // one before each sparsity, one at the end
    for (size_t i = 0; i < reports.size(); ++i) {
        QCOMPARE(reports[i].done, int64_t(i));
        QCOMPARE(reports[i].total, int64_t(2));
    }
    QCOMPARE(reports[1].current, std::string("sparsity 0.9"));
}

void TestInitVarianceJob::fixedNmAtEverySparsity() {
    InitVarianceJobSettings s = tiny();
    s.nm = "2:8";
    const auto points = runInitVarianceJob(s);
    for (const auto& p : points) {
        QCOMPARE(p.nm, std::string("2:8"));
        QCOMPARE(p.nmMask.density, 0.25); // 48 inputs: six whole groups of 8
    }
    QCOMPARE(points[0].unstructured.density, 0.5);
}

void TestInitVarianceJob::cancelReturnsNothing() {
    std::atomic<bool> cancel{false};
    int reports = 0;
    QVERIFY_THROWS_EXCEPTION(InitVarianceCancelled, runInitVarianceJob(tiny(), [&](const InitVarianceProgress&) {
                                 ++reports;
                                 cancel = true; // while the first sparsity runs
                             },
                                                                       &cancel));
    QCOMPARE(reports, 1);
    std::atomic<bool> before{true};
    QVERIFY_THROWS_EXCEPTION(InitVarianceCancelled, runInitVarianceJob(tiny(), {}, &before));
}

void TestInitVarianceJob::badSettingsFailWithTheEngineMessage() {
    auto failsLikeTheEngine = [](InitVarianceJobSettings s, const std::function<void(nm::InitVarianceOptions&)>& same) {
        int reports = 0;
        const auto got = messageOf([&] { runInitVarianceJob(s, [&](const InitVarianceProgress&) { ++reports; }); });
        nm::InitVarianceOptions o;
        same(o);
        const auto want = messageOf([&] {
            if (!s.nm.empty()) o.nm = nm::parseNm(s.nm);
            nm::initOutputNormVariance(o);
        });
        QVERIFY(want.has_value());
        QCOMPARE(got, want);
        QCOMPARE(reports, 0); // failed before anything long ran
    };
    auto s = tiny();
    s.sparsities = {0.5, 1.5};
    failsLikeTheEngine(s, [](nm::InitVarianceOptions& o) { o.sparsity = 1.5; });
    s = tiny();
    s.samples = 0;
    failsLikeTheEngine(s, [](nm::InitVarianceOptions& o) { o.samples = 0; });
    s = tiny();
    s.out = 0;
    failsLikeTheEngine(s, [](nm::InitVarianceOptions& o) { o.out = 0; });
    s = tiny();
    s.nm = "4:4";
    failsLikeTheEngine(s, [](nm::InitVarianceOptions&) {});
    s.nm = "two:four";
    failsLikeTheEngine(s, [](nm::InitVarianceOptions&) {});

    s = tiny();
    s.sparsities.clear();
    QCOMPARE(messageOf([&] { runInitVarianceJob(s); }), std::optional<std::string>("sparsities: give at least one sparsity"));
    s = tiny();
    s.out = 65536;
    s.in = 65536;
    const auto big = messageOf([&] { runInitVarianceJob(s); });
    QVERIFY(big && big->find("out x in must be at most") != std::string::npos);
}

QTEST_GUILESS_MAIN(TestInitVarianceJob)
#include "test_init_variance_job.moc"
