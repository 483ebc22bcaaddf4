// Data-parallel training on a GPU over c10d's NCCL process group, a world of one in this process
// (NCCL refuses two ranks of one process on one GPU): collectives on the GPU, gradient buckets
// all-reduced from autograd hooks equal to the plain gradients, and a trainer on cuda that trains like
// one without the group. Skipped without NCCL or a GPU; a build without NCCL checks that asking for
// it is a config error that says so.
#include <torch/torch.h>

#include <QtTest>

#include "engine/distributed/data_parallel.hpp"
#include "engine/distributed/distributed_error.hpp"
#include "engine/distributed/free_port.hpp"
#include "engine/errors.hpp"
#include "engine/training/trainer_internals.hpp"

#include <chrono>
#include <stdexcept>

using namespace srigl;

namespace {

Rendezvous alone(int localRank = 0) { return Rendezvous{0, 1, localRank, "127.0.0.1", freeLoopbackPort()}; }

const std::chrono::milliseconds kTimeout = std::chrono::seconds(30);

bool haveGpuAndNccl() { return ncclAvailable() && torch::cuda::is_available() && torch::cuda::device_count() > 0; }

RunConfig tinyCudaRun() {
    RunConfig c;
    c.device = "cuda";
    c.synthetic_train = 512;
    c.synthetic_test = 128;
    c.hidden = "64,32";
    c.method = "srigl";
    c.sparsity = 0.9;
    c.batch_size = 64;
    c.max_steps = 3;
    c.delta_t = 2; // a mask update at step 2
    c.grad_accumulation = 1;
    c.t_end = 1.0;
    c.lr = 0.05;
    c.threads = 1;
    c.sparse_compute = "masked_dense";
    return c;
}

} // namespace

#define REQUIRE_GPU_AND_NCCL()                                                                             \
    do {                                                                                                   \
        if (!ncclAvailable()) QSKIP("this build has no NCCL (Distributed training (c10d/NCCL): OFF)");     \
        if (!haveGpuAndNccl()) QSKIP("no GPU visible");                                                    \
    } while (0)

class TestDistributedNccl : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void cudaWithoutNcclIsAConfigErrorNamingNccl();
    void localRankBeyondTheVisibleGpusIsAConfigError();
    void collectivesRunOnTheGpu();
    void overlappedBucketsOnTheGpuEqualThePlainGradients();
    void oneWorkerOnCudaTrainsLikeTheTrainerAlone();
    void cudaTrainerRefusesTheGlooGroup();
};

// What `srigl train --distributed --set device=cuda` meets in a CPU build (Debian's LibTorch).
void TestDistributedNccl::cudaWithoutNcclIsAConfigErrorNamingNccl() {
    if (ncclAvailable()) QSKIP("this build has NCCL");
    for (auto connect : {+[] { return connectDataParallel(alone(), "cuda", kTimeout); },
                         +[] { return connectNccl(alone(), kTimeout, 0); }}) {
        try {
            connect();
            QFAIL("a build without NCCL joined an NCCL group");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.key()), QString("device"));
            const QString what = e.what();
            QVERIFY2(what.contains("NCCL") && what.contains("does not have") && what.contains("device=cpu"),
                     qPrintable(what));
        }
    }
}

void TestDistributedNccl::localRankBeyondTheVisibleGpusIsAConfigError() {
    REQUIRE_GPU_AND_NCCL();
    const int gpus = static_cast<int>(torch::cuda::device_count());
    try {
        connectDataParallel(alone(gpus), "cuda", kTimeout);
        QFAIL("LOCAL_RANK past the last GPU was accepted");
    } catch (const ConfigError& e) {
        QCOMPARE(QString::fromStdString(e.key()), QString("LOCAL_RANK"));
        QVERIFY2(QString(e.what()).contains("LOCAL_RANK=" + QString::number(gpus)), e.what());
    }
}

void TestDistributedNccl::collectivesRunOnTheGpu() {
    REQUIRE_GPU_AND_NCCL();
    auto group = connectDataParallel(alone(), "cuda", kTimeout);
    QCOMPARE(group->device().str(), std::string("cuda:0"));
    const auto gpu = torch::TensorOptions().device(group->device());
    auto w = torch::full({4, 6}, 3.0f, gpu);
    auto m = torch::eye(6, gpu).to(torch::kBool);
    DataParallel dp(group, {w});
    dp.broadcastFromRankZero({w, m}, "test broadcast");
    QVERIFY(torch::equal(w.cpu(), torch::full({4, 6}, 3.0f)));
    QVERIFY(m.scalar_type() == torch::kBool && m.is_cuda());
    QCOMPARE(m.sum().item<int64_t>(), int64_t(6));
    const auto sums = dp.sum({1.5, 2.0, -4.0}, "test sum");
    QVERIFY(sums == (std::vector<double>{1.5, 2.0, -4.0}));
    const std::string checksum = dp.requireSameMasks({"fc1"}, {m}, 1);
    QCOMPARE(checksum.size(), size_t(16));
    group->barrier("test barrier");
    // A host tensor is a programming error, named as such (not "another worker died").
    auto host = torch::ones({2});
    QVERIFY_THROWS_EXCEPTION(std::logic_error, group->allreduceAsync(host, ReduceKind::Sum, "host tensor"));
    // The parameters must be where the collectives are.
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, DataParallel(group, {torch::zeros({3})}));
}

// A 4-layer MLP on the GPU whose 4 buckets (a 1000-float cap) are all-reduced on NCCL's stream from
// autograd hooks while backward runs: for three steps the averaged gradients (a world of one: sum
// over one rank, times 1) equal those of a twin trained without the group, bit for bit.
void TestDistributedNccl::overlappedBucketsOnTheGpuEqualThePlainGradients() {
    REQUIRE_GPU_AND_NCCL();
    auto group = connectDataParallel(alone(), "cuda", kTimeout);
    auto makeModel = [&] {
        torch::manual_seed(3);
        torch::nn::Sequential m(torch::nn::Linear(40, 50), torch::nn::ReLU(), torch::nn::Linear(50, 30),
                                torch::nn::ReLU(), torch::nn::Linear(30, 20), torch::nn::ReLU(),
                                torch::nn::Linear(20, 10));
        m->to(group->device());
        return m;
    };
    auto withGroup = makeModel(), twin = makeModel();
    GradientAverager averager(withGroup->parameters(), 1000);
    averager.overlapWithBackward(*group);
    for (int step = 0; step < 3; ++step) {
        torch::manual_seed(100 + step);
        const auto x = torch::randn({8, 40}).to(group->device());
        for (auto* m : {&withGroup, &twin}) {
            for (auto& p : (*m)->parameters()) p.mutable_grad() = torch::Tensor();
            (*m)->forward(x).pow(2).mean().backward();
        }
        averager.average(*group);
        const auto a = withGroup->parameters(), b = twin->parameters();
        for (size_t i = 0; i < a.size(); ++i)
            QVERIFY2(torch::equal(a[i].grad().cpu(), b[i].grad().cpu()),
                     qPrintable(QString("step %1, parameter %2").arg(step).arg(i)));
        QCOMPARE(averager.bucketCount(), size_t(4));
        QCOMPARE(averager.bucketsStartedDuringBackward(), averager.bucketCount());
    }
}

void TestDistributedNccl::oneWorkerOnCudaTrainsLikeTheTrainerAlone() {
    REQUIRE_GPU_AND_NCCL();
    const RunConfig config = tinyCudaRun();
    std::vector<double> single;
    std::vector<torch::Tensor> singleMasks;
    {
        Trainer t(config);
        while (t.trainStep()) single.push_back(t.lastLoss());
        for (auto& st : t.internals().layers) singleMasks.push_back(st.layer->mask.cpu());
    }
    // As srigl train does: join first (GPU LOCAL_RANK becomes the current device), then the trainer.
    auto group = connectDataParallel(alone(), "cuda", kTimeout);
    Trainer t(config);
    t.enableDataParallel(group);
    std::vector<double> losses;
    while (t.trainStep()) losses.push_back(t.lastLoss());
    t.finish();
    QCOMPARE(t.internals().device.str(), std::string("cuda:0"));
    QCOMPARE(losses.size(), size_t(3));
    QCOMPARE(losses.size(), single.size());
    for (size_t i = 0; i < single.size(); ++i)
        QVERIFY2(std::abs(losses[i] - single[i]) <= 1e-5 * std::abs(single[i]),
                 qPrintable(QString("step %1: %2 vs %3").arg(i + 1).arg(losses[i]).arg(single[i])));
    const auto& layers = t.internals().layers;
    QCOMPARE(layers.size(), singleMasks.size());
    for (size_t l = 0; l < layers.size(); ++l) {
        const double differ = (layers[l].layer->mask.cpu() != singleMasks[l]).to(torch::kDouble).mean().item<double>();
        QVERIFY2(differ < 0.01, qPrintable(QString("layer %1: %2 of the mask differs").arg(l).arg(differ)));
    }
    const DistributedInfo info = t.distributedInfo();
    QVERIFY(info.masksAgree);
    QVERIFY(info.maskChecks >= 3); // start, the update at step 2, the end
    QCOMPARE(info.gradientBuckets, int64_t(1));
    QCOMPARE(info.bucketsOverlapped, int64_t(1));
}

void TestDistributedNccl::cudaTrainerRefusesTheGlooGroup() {
    if (!distributedAvailable() || !torch::cuda::is_available()) QSKIP("needs Gloo and a GPU");
    auto group = connectGloo(alone(), kTimeout);
    Trainer t(tinyCudaRun());
    try {
        t.enableDataParallel(group);
        QFAIL("a trainer on cuda took a Gloo group");
    } catch (const ConfigError& e) {
        QCOMPARE(QString::fromStdString(e.key()), QString("device"));
        QVERIFY2(QString(e.what()).contains("NCCL"), e.what());
    }
}

QTEST_GUILESS_MAIN(TestDistributedNccl)
#include "test_distributed_nccl.moc"
