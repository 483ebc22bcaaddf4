// The up-front memory check: the lower bound of a run's sparse layers against hand-counted bytes,
// the check's message, the parsing of /proc/meminfo and cgroup files, and a trainer too big for this
// machine refused before it allocates (nothing big is ever allocated here).
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/models/condensed_weights.hpp"
#include "engine/training/memory_estimate.hpp"
#include "engine/training/trainer_internals.hpp"
#include "tests/support/guarded.hpp"
#include "tests/support/tiny_configs.hpp"

#include <QElapsedTimer>

#include <functional>
#include <string>
#include <vector>

using namespace srigl;

namespace {

LayerMemoryFacts layer(const std::string& name, int64_t out, int64_t fanIn, int64_t k, const std::string& path,
                       bool dynamic, bool bias) {
    LayerMemoryFacts f;
    f.name = name;
    f.out = out;
    f.fanIn = fanIn;
    f.k = k;
    f.path = path;
    f.dynamic = dynamic;
    f.bias = bias;
    return f;
}

// A dynamic masked-dense layer 4 x 10 and a dense classifier 2 x 4, both with biases.
std::vector<LayerMemoryFacts> smallModel() {
    return {layer("fc1", 4, 10, 3, "masked_dense", true, true), layer("fc2", 2, 4, 4, "dense", false, true)};
}

constexpr uint64_t GiB = uint64_t{1} << 30;

// The ConfigError `fn` throws (key "" and an empty message when it throws none).
ConfigError configErrorOf(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const ConfigError& e) {
        return e;
    }
    return ConfigError("", "");
}

int64_t nbytes(const torch::Tensor& t) { return t.defined() ? t.numel() * static_cast<int64_t>(t.element_size()) : 0; }

} // namespace

class TestMemoryEstimate : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void optimizerStateBytesPerKind();
    void maskedDenseSgdMomentumMatchesHandCount();
    void adamwCountsTwoMoments();
    void condensedCountsValuesIndicesAndGradients();
    void indexWidthFollowsMakeCondensed();
    void checkNamesTheLargestLayerWhenMemoryIsShort();
    void checkPassesWhenMemoryIsAmpleOrUnknown();
    void meminfoAddsAvailableAndFreeSwap();
    void cgroupRoomCountsCacheAndIgnoresNoLimit();
    void estimateIsALowerBoundOfATrainersTensors();
    void hugeDenseMlpIsRefusedBeforeAllocating();
    void hugeCondensedMlpFitsByEstimate();
};

void TestMemoryEstimate::optimizerStateBytesPerKind() {
    QCOMPARE(optimizerStateBytes("sgd", 0.9), 4);
    QCOMPARE(optimizerStateBytes("sgd", 0.0), 0);
    QCOMPARE(optimizerStateBytes("adamw", 0.9), 8);
}

void TestMemoryEstimate::maskedDenseSgdMomentumMatchesHandCount() {
    const MemoryEstimate e = estimateTrainingMemory(smallModel(), optimizerStateBytes("sgd", 0.9));
    // fc1: bias 4 x (value 4 + grad 4 + momentum 4) = 48; 40 weights x (value 4, grad 4, mask 1,
    // mask factor 4, momentum 4, gradient sum 4 = 21) = 840. fc2: bias 2 x 12 = 24; 8 x 17 = 136.
    QCOMPARE(e.layers.size(), size_t{2});
    QCOMPARE(e.layers[0].bytes, uint64_t{48 + 840});
    QCOMPARE(e.layers[1].bytes, uint64_t{24 + 136});
    QCOMPARE(e.bytes, uint64_t{1048});
    QCOMPARE(QString::fromStdString(e.largest()->facts.name), QString("fc1"));
}

void TestMemoryEstimate::adamwCountsTwoMoments() {
    const MemoryEstimate e = estimateTrainingMemory(smallModel(), optimizerStateBytes("adamw", 0.9));
    // fc1: 4 x 16 + 40 x 25; fc2: 2 x 16 + 8 x 21.
    QCOMPARE(e.layers[0].bytes, uint64_t{64 + 1000});
    QCOMPARE(e.layers[1].bytes, uint64_t{32 + 168});
    QCOMPARE(e.bytes, uint64_t{1264});
}

void TestMemoryEstimate::condensedCountsValuesIndicesAndGradients() {
    // int16 indices (fan-in 10): bias 48; 4 x 3 kept x (value 4, index 2, grad 4, momentum 4) = 168;
    // alive 4 x 4 = 16. No dense gradient sum on the condensed path, dynamic or not.
    const auto small = estimateTrainingMemory({layer("c", 4, 10, 3, "condensed", true, true)}, 4);
    QCOMPARE(small.bytes, uint64_t{48 + 168 + 16});
    // int32 indices (fan-in 40000), no bias: 2 x 1 x 16 + 2 x 4.
    const auto wide = estimateTrainingMemory({layer("w", 2, 40000, 1, "condensed", false, false)}, 4);
    QCOMPARE(wide.bytes, uint64_t{32 + 8});
}

void TestMemoryEstimate::indexWidthFollowsMakeCondensed() {
    for (int64_t fanIn : {10, 32767, 32768, 100000}) {
        const auto c = makeCondensed(torch::ones({1, 1}), torch::zeros({1, 1}, torch::kLong), fanIn);
        QCOMPARE(condensedIndexBytes(fanIn), static_cast<int>(c.indices.element_size()));
    }
}

void TestMemoryEstimate::checkNamesTheLargestLayerWhenMemoryIsShort() {
    const MemoryEstimate e = estimateTrainingMemory(smallModel(), 4);
    const ConfigError err = configErrorOf([&] { requireMemoryFits(e, AvailableMemory{1000, "a test's limit"}); });
    const QString msg = err.what();
    QCOMPARE(QString::fromStdString(err.key()), QString("sparse_compute"));
    QVERIFY2(msg.contains("needs at least 1048 bytes"), qPrintable(msg));
    QVERIFY2(msg.contains("largest: layer fc1, 4 x 10 held dense on the masked_dense path, 888 bytes)"),
             qPrintable(msg));
    QVERIFY2(msg.contains("available (a test's limit)"), qPrintable(msg));
    QVERIFY2(msg.contains("sparse_compute=condensed"), qPrintable(msg));

    // Sizes in GiB with one decimal, and a condensed largest layer named as such: 10^8 kept weights
    // x 16 bytes (int32 indices) + 4 x 10^5 for `alive` = 1.49 GiB.
    const auto big = estimateTrainingMemory({layer("fc2", 100000, 100000, 1000, "condensed", true, false)}, 4);
    const ConfigError bigErr = configErrorOf([&] { requireMemoryFits(big, AvailableMemory{GiB, "test"}); });
    const QString bigMsg = bigErr.what();
    QCOMPARE(QString::fromStdString(bigErr.key()), QString("sparsity"));
    QVERIFY2(bigMsg.contains("needs at least 1.5 GiB"), qPrintable(bigMsg));
    QVERIFY2(bigMsg.contains("layer fc2, 100000 x 100000 condensed to k = 1000 inputs per neuron, 1.5 GiB"),
             qPrintable(bigMsg));
    QVERIFY2(bigMsg.contains("this machine has 1.0 GiB available"), qPrintable(bigMsg));
}

void TestMemoryEstimate::checkPassesWhenMemoryIsAmpleOrUnknown() {
    const MemoryEstimate e = estimateTrainingMemory(smallModel(), 4);
    guarded([&] {
        requireMemoryFits(e, AvailableMemory{e.bytes, "exactly enough"});
        requireMemoryFits(e, AvailableMemory{GiB, "ample"});
        requireMemoryFits(e, std::nullopt);
    });
}

void TestMemoryEstimate::meminfoAddsAvailableAndFreeSwap() {
    const std::string text = "MemTotal:       24683792 kB\nMemFree:  100 kB\nMemAvailable:   2000 kB\n"
                             "SwapTotal: 4096 kB\nSwapFree:        1000 kB\n";
    QCOMPARE(meminfoAvailable(text).value_or(0), uint64_t{3000 * 1024});
    QVERIFY(!meminfoAvailable("MemTotal: 1 kB\n").has_value());
    // This machine's own figure, whatever it is, is read and not above its meminfo.
    const auto here = availableMemory();
    if (here) QVERIFY(here->bytes > 0 && !here->source.empty());
}

void TestMemoryEstimate::cgroupRoomCountsCacheAndIgnoresNoLimit() {
    const std::string v2stat = "anon 100\nfile 200\nfile_mapped 5\n";
    // 1000 - (600 - 200 reclaimable page cache) + 50 of free swap.
    QCOMPARE(cgroupRoom("1000\n", "600\n", v2stat, 50).value_or(0), uint64_t{650});
    QCOMPARE(cgroupRoom("1000", "600", "cache 300\nrss 300\n", 0).value_or(0), uint64_t{700}); // v1
    QCOMPARE(cgroupRoom("1000", "600", "total_cache 100\ncache 300\n", 0).value_or(0), uint64_t{500});
    QCOMPARE(cgroupRoom("500", "900", "", 0).value_or(1), uint64_t{0}); // over its limit already
    QVERIFY(!cgroupRoom("max\n", "600", v2stat, 0).has_value());
    QVERIFY(!cgroupRoom("9223372036854771712\n", "600", "", 0).has_value()); // v1 unlimited
    QVERIFY(!cgroupRoom("", "600", "", 0).has_value());
}

void TestMemoryEstimate::estimateIsALowerBoundOfATrainersTensors() {
    // Small real runs on every path (condensed under sparse_compute=auto, masked-dense with its
    // gradient sum, a dense classifier): the facts planned from the config alone name the paths the
    // trainer built, and after one step each layer holds at least what the estimate says.
    const std::vector<std::pair<std::string, std::string>> runs{{"sgd", "auto"}, {"adamw", "masked_dense"}};
    for (const auto& [optimizer, compute] : runs) {
        RunConfig c = tinyRunConfig("300,100", 64, 1);
        c.optimizer = optimizer;
        c.sparse_compute = compute;
        const std::vector<LayerMemoryFacts> facts = plannedMemoryFacts(c);
        const MemoryEstimate e = estimateTrainingMemory(facts, optimizerStateBytes(c.optimizer, c.momentum));
        guarded([&] {
            Trainer t(c);
            t.begin();
            QVERIFY(t.trainStep());
            auto& s = t.internals();
            QCOMPARE(s.layers.size(), facts.size());
            bool sawCondensed = false, sawMaskedDense = false;
            const auto& params = s.optimizer->params();
            for (size_t i = 0; i < facts.size(); ++i) {
                auto& st = s.layers[i];
                QCOMPARE(QString::fromStdString(st.compute), QString::fromStdString(facts[i].path));
                int64_t held = 0;
                auto withState = [&](const torch::Tensor& p) {
                    held += nbytes(p) + nbytes(p.grad());
                    for (size_t j = 0; j < params.size(); ++j)
                        if (params[j].unsafeGetTensorImpl() == p.unsafeGetTensorImpl())
                            for (const auto& state : s.optimizer->state(j)) held += nbytes(state);
                };
                if (st.layer->isCondensed()) {
                    sawCondensed = true;
                    const auto& cw = *st.layer->condensed;
                    withState(cw.values);
                    held += nbytes(cw.indices) + nbytes(cw.alive);
                } else {
                    sawMaskedDense = sawMaskedDense || st.compute == "masked_dense";
                    withState(st.layer->weight);
                    held += nbytes(st.layer->mask) + nbytes(st.layer->maskFactor()) + nbytes(st.gradSum);
                }
                if (st.layer->bias.defined()) withState(st.layer->bias);
                QVERIFY2(e.layers[i].bytes <= static_cast<uint64_t>(held),
                         qPrintable(QString("%1: estimate %2 > held %3")
                                        .arg(QString::fromStdString(st.name))
                                        .arg(e.layers[i].bytes)
                                        .arg(held)));
            }
            QVERIFY(compute == "masked_dense" ? sawMaskedDense && s.layers[0].gradSum.defined() : sawCondensed);
        });
    }
}

void TestMemoryEstimate::hugeDenseMlpIsRefusedBeforeAllocating() {
    RunConfig c = tinyRunConfig("100000,100000,100000", 64, 1);
    c.method = "dense";
    const MemoryEstimate e =
        estimateTrainingMemory(plannedMemoryFacts(c), optimizerStateBytes(c.optimizer, c.momentum));
    const auto available = availableMemory();
    // Dense 100000 x 100000 layers twice: about 320 GiB. A machine with more would build the trainer.
    if (!available || e.bytes <= available->bytes) QSKIP("available memory unknown or larger than the estimate");
    QElapsedTimer clock;
    clock.start();
    const ConfigError err = configErrorOf([&] { Trainer t(c); });
    const QString msg = err.what();
    QCOMPARE(QString::fromStdString(err.key()), QString("method"));
    QVERIFY2(msg.contains("largest: layer fc2, 100000 x 100000 held dense on the dense path"), qPrintable(msg));
    QVERIFY2(msg.contains("use method=srigl with sparse_compute=condensed"), qPrintable(msg));
    QVERIFY2(clock.elapsed() < 5000, qPrintable(QString("refused after %1 ms").arg(clock.elapsed())));
}

void TestMemoryEstimate::hugeCondensedMlpFitsByEstimate() {
    // The huge-mlp preset's shape: condensed, it needs well under a few GiB; masked-dense, far more.
    RunConfig c = tinyRunConfig("65536,65536", 64, 1);
    c.method = "srigl";
    c.sparsity = 0.99;
    c.sparse_compute = "condensed";
    const std::vector<LayerMemoryFacts> facts = plannedMemoryFacts(c);
    QCOMPARE(QString::fromStdString(facts[1].path), QString("condensed"));
    const MemoryEstimate e = estimateTrainingMemory(facts, optimizerStateBytes(c.optimizer, c.momentum));
    QVERIFY2(e.bytes < 2 * GiB, qPrintable(QString::number(e.bytes)));
    guarded([&] { requireMemoryFits(e, AvailableMemory{4 * GiB, "test"}); });

    c.sparse_compute = "masked_dense";
    const MemoryEstimate dense =
        estimateTrainingMemory(plannedMemoryFacts(c), optimizerStateBytes(c.optimizer, c.momentum));
    const ConfigError err = configErrorOf([&] { requireMemoryFits(dense, AvailableMemory{16 * GiB, "test"}); });
    QCOMPARE(QString::fromStdString(err.key()), QString("sparse_compute"));
    QVERIFY2(QString(err.what()).contains("layer fc2, 65536 x 65536 held dense on the masked_dense path"), err.what());
}

QTEST_GUILESS_MAIN(TestMemoryEstimate)
#include "test_memory_estimate.moc"
