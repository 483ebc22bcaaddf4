// The pieces of data-parallel training that need no second process: rendezvous variables, batch
// shards, gradient buckets and the mask checksum with its verdict.
#include <torch/torch.h>

#include <QtTest>

#include "engine/distributed/batch_shard.hpp"
#include "engine/distributed/distributed_error.hpp"
#include "engine/distributed/gradient_buckets.hpp"
#include "engine/distributed/mask_checksum.hpp"
#include "engine/distributed/rendezvous.hpp"
#include "engine/errors.hpp"

#include <map>

using namespace srigl;

namespace {

using Env = std::map<std::string, std::string>;

Rendezvous parse(const Env& env) {
    return rendezvousFrom([&env](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

Env goodEnv() {
    return {{"RANK", "1"}, {"WORLD_SIZE", "3"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
}

// The ConfigError's key for an environment, or "" when it parses.
std::string failingKey(const Env& env) {
    try {
        parse(env);
    } catch (const ConfigError& e) {
        return e.key();
    }
    return "";
}

} // namespace

class TestDistributedUnits : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void rendezvousReadsTheTorchrunVariables();
    void rendezvousNamesMissingOrBadVariables();
    void shardsAreDisjointAndCoverTheGlobalBatch();
    void unevenGlobalBatchIsAConfigError();
    void bucketsKeepOrderAndRespectTheCap();
    void checksumSeesEveryBitAndTheShape();
    void checksumVerdictNamesTheLayersThatDiffer();
};

void TestDistributedUnits::rendezvousReadsTheTorchrunVariables() {
    const Rendezvous r = parse(goodEnv());
    QCOMPARE(r.rank, 1);
    QCOMPARE(r.worldSize, 3);
    QCOMPARE(r.localRank, 1);
    QCOMPARE(QString::fromStdString(r.masterAddr), QString("127.0.0.1"));
    QCOMPARE(r.masterPort, 29500);
    Env noLocal = goodEnv();
    noLocal.erase("LOCAL_RANK");
    QCOMPARE(parse(noLocal).localRank, 0);
}

void TestDistributedUnits::rendezvousNamesMissingOrBadVariables() {
    for (const char* key : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) {
        Env env = goodEnv();
        env.erase(key);
        QCOMPARE(QString::fromStdString(failingKey(env)), QString(key));
    }
    auto with = [](const std::string& key, const std::string& value) {
        Env env = goodEnv();
        env[key] = value;
        return QString::fromStdString(failingKey(env));
    };
    QCOMPARE(with("RANK", "3"), QString("RANK"));            // rank must be below the world size
    QCOMPARE(with("RANK", "-1"), QString("RANK"));
    QCOMPARE(with("WORLD_SIZE", "0"), QString("WORLD_SIZE"));
    QCOMPARE(with("WORLD_SIZE", "2x"), QString("WORLD_SIZE"));
    QCOMPARE(with("MASTER_PORT", "70000"), QString("MASTER_PORT"));
    QCOMPARE(with("MASTER_PORT", ""), QString("MASTER_PORT"));
    QCOMPARE(with("LOCAL_RANK", "a"), QString("LOCAL_RANK"));
    QCOMPARE(with("RANK", "2"), QString(""));
}

void TestDistributedUnits::shardsAreDisjointAndCoverTheGlobalBatch() {
    for (int world = 1; world <= 4; ++world) {
        const int64_t batch = 12 * world;
        std::vector<int> owner(static_cast<size_t>(batch), -1);
        for (int r = 0; r < world; ++r) {
            const ShardRange s = shardOf(batch, r, world);
            QCOMPARE(s.end - s.begin, batch / world);
            for (int64_t i = s.begin; i < s.end; ++i) {
                QCOMPARE(owner[static_cast<size_t>(i)], -1); // disjoint
                owner[static_cast<size_t>(i)] = r;
            }
        }
        for (int o : owner) QVERIFY(o >= 0); // covering
    }
    QVERIFY_EXCEPTION_THROWN(shardOf(8, 2, 2), std::invalid_argument);
}

void TestDistributedUnits::unevenGlobalBatchIsAConfigError() {
    try {
        shardOf(65, 0, 2);
        QFAIL("an uneven split was accepted");
    } catch (const ConfigError& e) {
        QCOMPARE(QString::fromStdString(e.key()), QString("batch_size"));
        QVERIFY(QString(e.what()).contains("65"));
    }
}

void TestDistributedUnits::bucketsKeepOrderAndRespectTheCap() {
    const std::vector<int64_t> numels{10, 20, 5, 50, 3, 3, 100, 1};
    const auto buckets = planBuckets(numels, 30);
    std::vector<size_t> flat;
    for (const auto& b : buckets) {
        QVERIFY(!b.empty());
        int64_t total = 0;
        for (size_t i : b) {
            flat.push_back(i);
            total += numels[i];
        }
        // Over the cap only as a tensor alone in its bucket.
        QVERIFY(total <= 30 || b.size() == 1);
    }
    for (size_t i = 0; i < numels.size(); ++i) QCOMPARE(flat[i], i); // every tensor once, in order
    QCOMPARE(buckets.size(), size_t(6)); // {10,20} {5} {50} {3,3} {100} {1}
    QCOMPARE(planBuckets(numels, 1000).size(), size_t(1));
    QVERIFY_EXCEPTION_THROWN(planBuckets(numels, 0), std::invalid_argument);
}

void TestDistributedUnits::checksumSeesEveryBitAndTheShape() {
    torch::manual_seed(3);
    auto mask = torch::rand({30, 17}) > 0.5;
    const uint64_t h = maskChecksum(mask);
    QCOMPARE(maskChecksum(mask.clone()), h);
    QCOMPARE(maskChecksum(mask.to(torch::kFloat)), h); // 0/1 floats are the same mask
    QVERIFY(h < (uint64_t(1) << 52));                 // exact in a double
    for (int64_t i : {int64_t(0), int64_t(7), int64_t(8), int64_t(509)}) {
        auto flipped = mask.clone().view({-1});
        flipped[i] = !flipped[i].item<bool>();
        QVERIFY(maskChecksum(flipped.view({30, 17})) != h);
    }
    QVERIFY(maskChecksum(mask.view({17, 30})) != h);
}

void TestDistributedUnits::checksumVerdictNamesTheLayersThatDiffer() {
    const std::vector<std::string> names{"fc1", "fc2", "fc3"};
    requireChecksumsAgree(names, {1, 2, 3}, {1, 2, 3}, 10); // agreement passes
    try {
        requireChecksumsAgree(names, {1, 2, 3}, {1, 5, 3}, 40);
        QFAIL("differing checksums were accepted");
    } catch (const DistributedError& e) {
        const QString what = e.what();
        QVERIFY(what.contains("fc2"));
        QVERIFY(!what.contains("fc1"));
        QVERIFY(what.contains("step 40"));
    }
    QVERIFY(combinedChecksum({1, 2}) != combinedChecksum({2, 1}));
    QCOMPARE(combinedChecksum({1, 2}).size(), size_t(16));
}

QTEST_GUILESS_MAIN(TestDistributedUnits)
#include "test_distributed_units.moc"
