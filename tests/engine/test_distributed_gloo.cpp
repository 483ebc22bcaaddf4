// Data-parallel collectives over real Gloo process groups, one thread per rank in this process
// (a TCP store on a free loopback port): bucketed averaging, broadcast, the mask checksum verdict,
// a dead peer, and a 2-rank trainer against a 1-rank trainer with the whole batch.
#include <torch/torch.h>

#include <QtTest>

#include "engine/distributed/data_parallel.hpp"
#include "engine/distributed/distributed_error.hpp"
#include "engine/distributed/free_port.hpp"
#include "engine/errors.hpp"
#include "engine/training/trainer_internals.hpp"

#include <unistd.h>

#include <chrono>
#include <exception>
#include <functional>
#include <thread>

using namespace srigl;

namespace {

// Runs body(rank, group) on `world` threads; returns each rank's exception (null: none).
std::vector<std::exception_ptr> onRanks(int world, const std::function<void(int, std::shared_ptr<ProcessGroup>)>& body,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const int port = srigl::freeLoopbackPort();
    std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
    std::vector<std::thread> threads;
    for (int r = 0; r < world; ++r) {
        threads.emplace_back([&, r] {
            try {
                Rendezvous where{r, world, r, "127.0.0.1", port};
                body(r, connectGloo(where, timeout));
            } catch (...) {
                errors[static_cast<size_t>(r)] = std::current_exception();
            }
        });
    }
    for (auto& t : threads) t.join();
    return errors;
}

QString messageOf(const std::exception_ptr& e) {
    if (!e) return {};
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return QString::fromStdString(x.what());
    }
    return "unknown exception";
}

void requireNoErrors(const std::vector<std::exception_ptr>& errors) {
    for (size_t r = 0; r < errors.size(); ++r)
        if (errors[r]) QFAIL(qPrintable(QString("rank %1: %2").arg(r).arg(messageOf(errors[r]))));
}

RunConfig tinyRun(int64_t batch) {
    RunConfig c;
    c.synthetic_train = 1024;
    c.synthetic_test = 256;
    c.hidden = "64,32";
    c.method = "srigl";
    c.sparsity = 0.9;
    c.batch_size = batch;
    c.max_steps = 24;
    c.delta_t = 5;
    c.grad_accumulation = 2;
    c.lr = 0.05;
    c.threads = 1;
    // Data-parallel ranks train masked-dense; the single-process reference must compute the same way.
    c.sparse_compute = "masked_dense";
    return c;
}

} // namespace

// Stops the test function too when a rank failed (QFAIL in a helper only returns from the helper).
#define REQUIRE_RANKS_OK(errors)                                                                               \
    do {                                                                                                       \
        requireNoErrors(errors);                                                                               \
        if (QTest::currentTestFailed()) return;                                                                \
    } while (0)

class TestDistributedGloo : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void gradientsAreAveragedInBuckets();
    void overlappedAveragingEqualsAveragingAfterBackward();
    void broadcastGivesEveryRankRankZerosTensors();
    void differingMasksFailOnEveryRankNamingTheLayer();
    void deadPeerFailsWithinTheTimeout();
    void unevenGlobalBatchIsRefusedOnEveryRank();
    void twoRanksTrainLikeOneWithTheWholeBatch();
};

void TestDistributedGloo::init() {
    if (!distributedAvailable()) QSKIP("this build has no c10d/Gloo (SRIGL_HAVE_C10D off)");
}

void TestDistributedGloo::gradientsAreAveragedInBuckets() {
    const std::vector<std::vector<int64_t>> shapes{{5, 4}, {7}, {3, 3}, {30}};
    size_t buckets = 0;
    std::vector<std::vector<torch::Tensor>> results(2);
    REQUIRE_RANKS_OK(onRanks(2, [&](int rank, std::shared_ptr<ProcessGroup> group) {
        std::vector<torch::Tensor> params;
        for (size_t i = 0; i < shapes.size(); ++i) {
            auto p = torch::zeros(shapes[i], torch::requires_grad());
            auto g = torch::arange(p.numel(), torch::kFloat).view(shapes[i]) + float((rank + 1) * (i + 1));
            p.mutable_grad() = g;
            params.push_back(p);
        }
        GradientAverager averager(params, 25);
        averager.average(*group);
        if (rank == 0) buckets = averager.bucketCount();
        for (auto& p : params) results[static_cast<size_t>(rank)].push_back(p.grad().clone());
    }));
    QVERIFY(buckets >= 3); // the cap of 25 elements really split the parameters
    for (size_t i = 0; i < shapes.size(); ++i) {
        auto expected = torch::arange(results[0][i].numel(), torch::kFloat).view(shapes[i]) + 1.5f * float(i + 1);
        QVERIFY(torch::equal(results[0][i], expected));
        QVERIFY(torch::equal(results[1][i], expected));
    }
}

// A 4-layer MLP whose buckets (a 1000-float cap: 4 of them) are started from autograd hooks while backward
// runs: the averages equal those of packing after backward and the mean of both ranks' gradients
// computed locally, for two steps in a row (the per-step state is reset).
void TestDistributedGloo::overlappedAveragingEqualsAveragingAfterBackward() {
    auto makeModel = [] {
        torch::manual_seed(3);
        return torch::nn::Sequential(torch::nn::Linear(40, 50), torch::nn::ReLU(), torch::nn::Linear(50, 30),
                                     torch::nn::ReLU(), torch::nn::Linear(30, 20), torch::nn::ReLU(),
                                     torch::nn::Linear(20, 10));
    };
    // Models and inputs are drawn here, not in the rank threads: the global generator is shared.
    std::vector<torch::Tensor> inputs; // [rank * 2 + step]
    for (int i = 0; i < 4; ++i) {
        torch::manual_seed(100 + i);
        inputs.push_back(torch::randn({8, 40}));
    }
    auto inputOf = [&](int rank, int step) { return inputs[size_t(rank * 2 + step)]; };
    std::vector<torch::nn::Sequential> models; // [rank * 3 + (overlapped, after, local)]
    for (int i = 0; i < 6; ++i) models.push_back(makeModel());
    auto backward = [](torch::nn::Sequential& m, const torch::Tensor& x) {
        for (auto& p : m->parameters()) p.mutable_grad() = torch::Tensor();
        m->forward(x).pow(2).mean().backward();
    };
    std::vector<size_t> buckets(2), early(2);
    std::vector<std::string> failures(2);
    REQUIRE_RANKS_OK(onRanks(2, [&](int rank, std::shared_ptr<ProcessGroup> group) {
        auto overlapped = models[size_t(rank * 3)], after = models[size_t(rank * 3 + 1)], local = models[size_t(rank * 3 + 2)];
        GradientAverager withHooks(overlapped->parameters(), 1000);
        withHooks.overlapWithBackward(*group);
        GradientAverager plain(after->parameters(), 1000);
        for (int step = 0; step < 2; ++step) {
            backward(overlapped, inputOf(rank, step));
            withHooks.average(*group);
            backward(after, inputOf(rank, step));
            plain.average(*group);
            // The expected average, from both ranks' inputs on this rank alone.
            std::vector<torch::Tensor> sum;
            for (int r = 0; r < 2; ++r) {
                backward(local, inputOf(r, step));
                const auto ps = local->parameters();
                for (size_t i = 0; i < ps.size(); ++i) {
                    if (r == 0) sum.push_back(ps[i].grad().clone());
                    else sum[i] += ps[i].grad();
                }
            }
            const auto a = overlapped->parameters(), b = after->parameters();
            for (size_t i = 0; i < a.size(); ++i) {
                if (!torch::equal(a[i].grad(), b[i].grad()))
                    failures[size_t(rank)] += "step " + std::to_string(step) + " param " + std::to_string(i) + " differs from after-backward; ";
                if (!torch::allclose(a[i].grad(), sum[i] / 2, 1e-5, 1e-6))
                    failures[size_t(rank)] += "step " + std::to_string(step) + " param " + std::to_string(i) + " is not the mean; ";
            }
        }
        buckets[size_t(rank)] = withHooks.bucketCount();
        early[size_t(rank)] = withHooks.bucketsStartedDuringBackward();
    }));
    QVERIFY2(failures[0].empty() && failures[1].empty(), (failures[0] + failures[1]).c_str());
    QCOMPARE(buckets[0], size_t(4));
    // Every bucket, even the one holding the first layer's gradients (produced last), is started
    // from a hook before backward returns: average() only waits.
    QCOMPARE(early[0], buckets[0]);
    QCOMPARE(early[1], buckets[1]);
}

void TestDistributedGloo::broadcastGivesEveryRankRankZerosTensors() {
    std::vector<torch::Tensor> weights(3), masks(3);
    REQUIRE_RANKS_OK(onRanks(3, [&](int rank, std::shared_ptr<ProcessGroup> group) {
        auto w = torch::full({4, 6}, float(rank + 1));
        auto m = torch::zeros({4, 6}, torch::kBool);
        m[rank][rank] = true;
        DataParallel dp(group, {w});
        dp.broadcastFromRankZero({w, m}, "test broadcast");
        weights[static_cast<size_t>(rank)] = w;
        masks[static_cast<size_t>(rank)] = m;
    }));
    for (int r = 0; r < 3; ++r) {
        QVERIFY(torch::equal(weights[size_t(r)], torch::full({4, 6}, 1.0f)));
        QVERIFY(masks[size_t(r)].scalar_type() == torch::kBool);
        QCOMPARE(masks[size_t(r)].sum().item<int64_t>(), int64_t(1));
        QVERIFY(masks[size_t(r)][0][0].item<bool>());
    }
}

void TestDistributedGloo::differingMasksFailOnEveryRankNamingTheLayer() {
    std::vector<std::string> agreed(2);
    auto errors = onRanks(2, [&](int rank, std::shared_ptr<ProcessGroup> group) {
        auto w = torch::zeros({1});
        DataParallel dp(group, {w});
        auto a = torch::ones({8, 8}, torch::kBool);
        auto b = torch::eye(8).to(torch::kBool);
        agreed[size_t(rank)] = dp.requireSameMasks({"fc1", "fc2"}, {a, b}, 5);
        if (rank == 1) b[3][4] = true; // one connection differs on rank 1 only
        dp.requireSameMasks({"fc1", "fc2"}, {a, b}, 10);
    });
    QCOMPARE(agreed[0], agreed[1]);
    for (int r = 0; r < 2; ++r) {
        const QString what = messageOf(errors[size_t(r)]);
        QVERIFY2(what.contains("fc2") && !what.contains("fc1") && what.contains("step 10"), qPrintable(what));
    }
}

void TestDistributedGloo::deadPeerFailsWithinTheTimeout() {
    double seconds = 0.0;
    auto errors = onRanks(
        2,
        [&](int rank, std::shared_ptr<ProcessGroup> group) {
            if (rank == 1) {
                group.reset(); // this worker goes away: its connections close
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            const auto start = std::chrono::steady_clock::now();
            auto t = torch::ones({16});
            try {
                group->allreduce(t, ReduceKind::Sum, "the test all-reduce");
            } catch (...) {
                seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                throw;
            }
        },
        std::chrono::seconds(3));
    QVERIFY(!errors[1]);
    const QString what = messageOf(errors[0]);
    QVERIFY2(what.contains("rank 0") && what.contains("the test all-reduce"), qPrintable(what));
    QVERIFY2(seconds < 3.0 + 5.0, qPrintable(QString("failed only after %1 s").arg(seconds)));
}

void TestDistributedGloo::unevenGlobalBatchIsRefusedOnEveryRank() {
    auto errors = onRanks(2, [&](int, std::shared_ptr<ProcessGroup> group) {
        Trainer t(tinyRun(63));
        t.enableDataParallel(group);
    });
    for (const auto& e : errors) {
        try {
            if (e) std::rethrow_exception(e);
            QFAIL("a batch of 63 was split over 2 ranks");
        } catch (const ConfigError& c) {
            QCOMPARE(QString::fromStdString(c.key()), QString("batch_size"));
        }
    }
}

void TestDistributedGloo::twoRanksTrainLikeOneWithTheWholeBatch() {
    const RunConfig config = tinyRun(64);
    std::vector<double> single;
    std::vector<torch::Tensor> singleMasks;
    {
        Trainer t(config);
        while (t.trainStep()) single.push_back(t.lastLoss());
        for (auto& st : t.internals().layers) singleMasks.push_back(st.layer->mask.clone());
    }
    std::vector<std::vector<double>> losses(2);
    std::vector<std::vector<torch::Tensor>> masks(2);
    std::vector<DistributedInfo> info(2);
    REQUIRE_RANKS_OK(onRanks(2, [&](int rank, std::shared_ptr<ProcessGroup> group) {
        Trainer t(config);
        t.enableDataParallel(group);
        while (t.trainStep()) losses[size_t(rank)].push_back(t.lastLoss());
        t.finish();
        for (auto& st : t.internals().layers) masks[size_t(rank)].push_back(st.layer->mask.clone());
        info[size_t(rank)] = t.distributedInfo();
    }));
    QCOMPARE(losses[0].size(), single.size());
    for (size_t i = 0; i < single.size(); ++i) {
        QCOMPARE(losses[0][i], losses[1][i]); // the global batch's loss, on every rank
        QVERIFY2(std::abs(losses[0][i] - single[i]) <= 1e-3 * std::abs(single[i]),
                 qPrintable(QString("step %1: %2 vs %3").arg(i + 1).arg(losses[0][i]).arg(single[i])));
    }
    for (size_t l = 0; l < singleMasks.size(); ++l) {
        QVERIFY(torch::equal(masks[0][l], masks[1][l]));
        // Same data, same averaged gradients up to rounding: the same connections survive.
        const double differ = (masks[0][l] != singleMasks[l]).to(torch::kDouble).mean().item<double>();
        QVERIFY2(differ < 0.01, qPrintable(QString("layer %1: %2 of the mask differs").arg(l).arg(differ)));
    }
    QCOMPARE(info[0].worldSize, 2);
    QCOMPARE(info[1].rank, 1);
    QVERIFY(info[0].masksAgree && info[1].masksAgree);
    QVERIFY(info[0].maskChecks >= 5); // start, the updates at steps 5..15, the end
    QCOMPARE(info[0].maskChecksum, info[1].maskChecksum);
}

QTEST_GUILESS_MAIN(TestDistributedGloo)
#include "test_distributed_gloo.moc"
