// parallelFor over the engine's worker pool: every index once, in ranges no shorter than the grain,
// on more than one thread when asked, exceptions handed back to the caller, nested calls serial.
#include <torch/torch.h>

#include <QtTest>

#include "engine/runtime/worker_pool.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

using namespace srigl;

namespace {

// The ranges one call handed out, sorted.
std::vector<std::pair<int64_t, int64_t>> rangesOf(int64_t begin, int64_t end, int64_t grain, int threads) {
    std::mutex m;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    parallelFor(
        begin, end, grain,
        [&](int64_t b, int64_t e) {
            std::lock_guard<std::mutex> lock(m);
            ranges.emplace_back(b, e);
        },
        threads);
    std::sort(ranges.begin(), ranges.end());
    return ranges;
}

} // namespace

class TestWorkerPool : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rangesCoverEveryIndexOnce();
    void emptyAndShortRanges();
    void runsOnMoreThanOneThread();
    void exceptionReachesTheCaller();
    void nestedCallsRunSerially();
};

void TestWorkerPool::rangesCoverEveryIndexOnce() {
    for (int threads : {1, 2, 3, 8})
        for (int64_t n : {1, 2, 7, 16, 17, 100, 1001})
            for (int64_t grain : {1, 3, 16, 1000}) {
                const auto ranges = rangesOf(5, 5 + n, grain, threads);
                const QString where = QString("threads %1 n %2 grain %3").arg(threads).arg(n).arg(grain);
                QVERIFY2(!ranges.empty(), qPrintable(where));
                QCOMPARE(ranges.front().first, int64_t{5});
                QCOMPARE(ranges.back().second, 5 + n);
                for (size_t i = 0; i < ranges.size(); ++i) {
                    QVERIFY2(ranges[i].first < ranges[i].second, qPrintable("empty range, " + where));
                    if (i > 0)
                        QVERIFY2(ranges[i].first == ranges[i - 1].second, qPrintable("gap or overlap, " + where));
                    if (ranges.size() > 1)
                        QVERIFY2(ranges[i].second - ranges[i].first >= grain, qPrintable("short range, " + where));
                }
                QVERIFY2(static_cast<int>(ranges.size()) <= 4 * threads, qPrintable("too many ranges, " + where));
                if (threads == 1) QCOMPARE(ranges.size(), size_t{1});
            }
}

void TestWorkerPool::emptyAndShortRanges() {
    QVERIFY(rangesOf(10, 10, 1, 2).empty());
    QVERIFY(rangesOf(10, 3, 1, 2).empty());
    // Shorter than two grains: one range, however many threads.
    const auto one = rangesOf(0, 31, 16, 8);
    QCOMPARE(one.size(), size_t{1});
    QCOMPARE(one.front(), std::make_pair(int64_t{0}, int64_t{31}));
    // A grain of 0 or less counts as 1.
    QCOMPARE(rangesOf(0, 4, 0, 2).size(), size_t{4});
}

// Each range waits (up to 20 s) until two threads have entered: serial execution would time out.
void TestWorkerPool::runsOnMoreThanOneThread() {
    std::mutex m;
    std::set<std::thread::id> seen;
    std::atomic<int> inside{0};
    parallelFor(
        0, 2, 1,
        [&](int64_t, int64_t) {
            {
                std::lock_guard<std::mutex> lock(m);
                seen.insert(std::this_thread::get_id());
            }
            ++inside;
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
            while (inside.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
        },
        2);
    QCOMPARE(seen.size(), size_t{2});
}

void TestWorkerPool::exceptionReachesTheCaller() {
    std::atomic<int> ran{0};
    bool caught = false;
    try {
        parallelFor(
            0, 64, 1,
            [&](int64_t b, int64_t) {
                ++ran;
                if (b == 0) throw std::runtime_error("range at 0 failed");
            },
            2);
    } catch (const std::runtime_error& e) {
        caught = QString(e.what()) == "range at 0 failed";
    }
    QVERIFY(caught);
    QVERIFY(ran.load() >= 1);
    // The pool is usable afterwards.
    QCOMPARE(rangesOf(0, 100, 1, 2).back().second, int64_t{100});
}

void TestWorkerPool::nestedCallsRunSerially() {
    std::atomic<int64_t> total{0};
    parallelFor(
        0, 8, 1,
        [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i)
                parallelFor(
                    0, 100, 1,
                    [&](int64_t b2, int64_t e2) {
                        for (int64_t j = b2; j < e2; ++j) total += i * 100 + j;
                    },
                    2);
        },
        2);
    int64_t expected = 0;
    for (int64_t i = 0; i < 8; ++i)
        for (int64_t j = 0; j < 100; ++j) expected += i * 100 + j;
    QCOMPARE(total.load(), expected);
}

QTEST_GUILESS_MAIN(TestWorkerPool)
#include "test_worker_pool.moc"
