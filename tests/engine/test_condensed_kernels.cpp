// The condensed constant fan-in kernels against a plain double-accumulating loop (and torch::linear
// on the scattered dense weight): every instruction set this CPU runs, int16 and int32 indices, odd
// shapes, k = 1 and k = inFeatures, batch 1 to 256, bias or none, one and two threads.
#include <torch/torch.h>

#include <QtTest>

#include "engine/kernels/condensed_kernels.hpp"
#include "engine/kernels/condensed_internal.hpp"
#include "engine/kernels/condensed_training.hpp"
#include "tests/support/guarded.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

using namespace srigl::kernels;

namespace {

// A condensed layer that owns its arrays. Every row has k distinct indices in shuffled order; row 0
// holds the extremes 0 and inFeatures - 1 (when k >= 2), and with k == 1 rows alternate between them.
struct Layer {
    int64_t rows = 0, k = 0, inFeatures = 0;
    std::vector<float> values, bias;
    std::vector<int16_t> idx16;
    std::vector<int32_t> idx32;
    bool useBias = false;

    CondensedView view(bool indices16) const {
        CondensedView v;
        v.values = values.data();
        v.indices = indices16 ? static_cast<const void*>(idx16.data()) : static_cast<const void*>(idx32.data());
        v.indices16 = indices16;
        v.rows = rows;
        v.k = k;
        v.inFeatures = inFeatures;
        v.bias = useBias ? bias.data() : nullptr;
        return v;
    }
};

Layer makeLayer(int64_t rows, int64_t inFeatures, int64_t k, bool useBias, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Layer l;
    l.rows = rows;
    l.k = k;
    l.inFeatures = inFeatures;
    l.useBias = useBias;
    l.values.resize(static_cast<size_t>(rows * k));
    for (auto& v : l.values) v = normal(rng);
    l.bias.resize(static_cast<size_t>(rows));
    for (auto& b : l.bias) b = normal(rng);
    std::vector<int32_t> pool(static_cast<size_t>(inFeatures));
    l.idx32.reserve(static_cast<size_t>(rows * k));
    for (int64_t r = 0; r < rows; ++r) {
        std::iota(pool.begin(), pool.end(), 0);
        // Partial Fisher-Yates: the first k entries are a random k-subset in random order.
        for (int64_t j = 0; j < k; ++j) {
            std::uniform_int_distribution<int64_t> pick(j, inFeatures - 1);
            std::swap(pool[static_cast<size_t>(j)], pool[static_cast<size_t>(pick(rng))]);
        }
        std::vector<int32_t> row(pool.begin(), pool.begin() + k);
        if (r == 0 && k >= 2) {
            // Put both extremes in, keeping the indices distinct.
            auto place = [&](int32_t value, size_t at) {
                auto it = std::find(row.begin(), row.end(), value);
                if (it != row.end()) std::iter_swap(it, row.begin() + static_cast<long>(at));
                else row[at] = value;
            };
            place(0, static_cast<size_t>(k - 1));
            place(static_cast<int32_t>(inFeatures - 1), 0);
        } else if (k == 1) {
            row[0] = (r % 2 == 0) ? 0 : static_cast<int32_t>(inFeatures - 1);
        }
        l.idx32.insert(l.idx32.end(), row.begin(), row.end());
    }
    if (inFeatures <= 32768)
        for (int32_t i : l.idx32) l.idx16.push_back(static_cast<int16_t>(i));
    return l;
}

std::vector<float> randomInput(int64_t batch, int64_t inFeatures, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(batch * inFeatures));
    for (auto& v : x) v = normal(rng);
    return x;
}

// The obvious loop in double, and the scale of each output (sum of |terms|) for the error bound.
void reference(const Layer& l, const std::vector<float>& x, int64_t batch, std::vector<double>& y,
               std::vector<double>& scale) {
    y.assign(static_cast<size_t>(batch * l.rows), 0.0);
    scale.assign(y.size(), 0.0);
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t r = 0; r < l.rows; ++r) {
            double s = l.useBias ? l.bias[static_cast<size_t>(r)] : 0.0;
            double a = std::fabs(s);
            for (int64_t j = 0; j < l.k; ++j) {
                const size_t p = static_cast<size_t>(r * l.k + j);
                const double t = static_cast<double>(l.values[p]) *
                                 x[static_cast<size_t>(b * l.inFeatures + l.idx32[p])];
                s += t;
                a += std::fabs(t);
            }
            y[static_cast<size_t>(b * l.rows + r)] = s;
            scale[static_cast<size_t>(b * l.rows + r)] = a;
        }
}

// Largest error relative to the magnitude of the summed terms: the bound that fp32 summation
// actually obeys (a plain |y - ref| / |ref| explodes where terms cancel to ~0).
double maxRelativeError(const std::vector<float>& y, const std::vector<double>& ref, const std::vector<double>& scale) {
    double worst = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        if (!std::isfinite(y[i])) return INFINITY;
        worst = std::max(worst, std::fabs(y[i] - ref[i]) / std::max(scale[i], 1e-30));
    }
    return worst;
}

std::vector<float> run(const Layer& l, bool indices16, const std::vector<float>& x, int64_t batch, Isa isa,
                       int threads) {
    // NaN-filled: a kernel that skips an output fails the comparison.
    std::vector<float> y(static_cast<size_t>(batch * l.rows), std::nanf(""));
    condensedForward(l.view(indices16), x.data(), batch, y.data(), isa, threads);
    return y;
}

QString describe(const Layer& l, bool indices16, int64_t batch, int threads, Isa isa) {
    return QString("isa=%1 rows=%2 in=%3 k=%4 idx=%5 batch=%6 bias=%7 threads=%8")
        .arg(QString::fromStdString(toString(isa)))
        .arg(l.rows)
        .arg(l.inFeatures)
        .arg(l.k)
        .arg(indices16 ? 16 : 32)
        .arg(batch)
        .arg(l.useBias ? 1 : 0)
        .arg(threads);
}

struct Shape {
    int64_t rows, inFeatures, k;
};

// Every combination of indices, bias, batch and threads for each shape, against the reference.
void checkIsa(Isa isa, const std::vector<Shape>& shapes, const std::vector<int64_t>& batches) {
    uint32_t seed = 1;
    for (const auto& s : shapes)
        for (bool useBias : {false, true}) {
            const Layer l = makeLayer(s.rows, s.inFeatures, s.k, useBias, seed++);
            for (int64_t batch : batches) {
                const auto x = randomInput(batch, s.inFeatures, seed++);
                std::vector<double> ref, scale;
                reference(l, x, batch, ref, scale);
                for (bool indices16 : {true, false}) {
                    if (indices16 && l.idx16.empty()) continue;
                    for (int threads : {1, 2}) {
                        const auto y = run(l, indices16, x, batch, isa, threads);
                        const double err = maxRelativeError(y, ref, scale);
                        if (!(err <= 1e-5))
                            QFAIL(qPrintable(describe(l, indices16, batch, threads, isa) +
                                             QString(" max relative error %1").arg(err)));
                    }
                }
            }
        }
}

// Odd sizes, k = 1, k = inFeatures, one row, and shapes large enough that two threads split them
// (chooseThreads), including the paper's 3072 -> 768 layer at 90% sparsity.
const std::vector<Shape> kShapes = {
    {1, 1, 1}, {1, 5, 5}, {3, 17, 1}, {13, 31, 7}, {37, 100, 33}, {5, 9, 9}, {64, 257, 64}, {200, 513, 129},
};
const std::vector<int64_t> kBatches = {1, 2, 7, 8, 9, 33, 256};

void checkIsaAll(Isa isa) {
    checkIsa(isa, kShapes, kBatches);
    checkIsa(isa, {{768, 3072, 307}}, {1, 8, 37});
    checkIsa(isa, {{400, 2000, 700}}, {1}); // batch 1 split over two threads
}

#if defined(__linux__)
// The CPUs the calling thread may run on (empty when they cannot be read).
cpu_set_t callingThreadCpus() {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    if (pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus) != 0) CPU_ZERO(&cpus);
    return cpus;
}

// Restricts the calling thread to one CPU; false when the system refuses.
bool pinCallingThreadTo(int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
}
#endif

} // namespace

class TestCondensedKernels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void detectedIsaIsSupported();
    void environmentOnlyLowersIsa();
    void portableMatchesReference();
    void avx2MatchesReference();
    void avx512MatchesReference();
    void int32IndicesBeyondInt16Range();
    void twoThreadsMatchOneThreadExactly();
    void isasAgreeWithEachOther();
    void avx2AndAvx512GiveTheSameBits();
    void matchesTorchLinearOnDenseWeight();
    void chooseThreadsSplitsOnlyLargeWork();
    void concurrentCallersGetCorrectResults();
    void workersStayOffTheCallersCpu();
    void workersFollowANewCallersCpus();
    void rejectsUnsupportedIsaAndMalformedViews();
    void emptyBatchOrRowsWritesNothing();
};

void TestCondensedKernels::detectedIsaIsSupported() {
    const char* saved = std::getenv("SRIGL_KERNEL_ISA");
    const std::string keep = saved ? saved : "";
    unsetenv("SRIGL_KERNEL_ISA");
    const Isa isa = detectIsa();
    QVERIFY(isaSupported(isa));
    QVERIFY(isaSupported(Isa::Portable));
    QCOMPARE(QString::fromStdString(toString(Isa::Portable)), QString("portable"));
    QCOMPARE(QString::fromStdString(toString(Isa::Avx2)), QString("avx2"));
    QCOMPARE(QString::fromStdString(toString(Isa::Avx512)), QString("avx512"));
    // The best supported set is the one detected.
    if (isaSupported(Isa::Avx512)) QVERIFY(isa == Isa::Avx512);
    else if (isaSupported(Isa::Avx2)) QVERIFY(isa == Isa::Avx2);
    else QVERIFY(isa == Isa::Portable);
    if (saved) setenv("SRIGL_KERNEL_ISA", keep.c_str(), 1);
}

void TestCondensedKernels::environmentOnlyLowersIsa() {
    const char* saved = std::getenv("SRIGL_KERNEL_ISA");
    const std::string keep = saved ? saved : "";
    unsetenv("SRIGL_KERNEL_ISA");
    const Isa best = detectIsa();
    setenv("SRIGL_KERNEL_ISA", "portable", 1);
    QVERIFY(detectIsa() == Isa::Portable);
    setenv("SRIGL_KERNEL_ISA", "AVX2", 1);
    QVERIFY(detectIsa() == (isaSupported(Isa::Avx2) ? Isa::Avx2 : best));
    setenv("SRIGL_KERNEL_ISA", "avx512", 1);
    QVERIFY(detectIsa() == best); // never above what the CPU has
    setenv("SRIGL_KERNEL_ISA", "nonsense", 1);
    QVERIFY(detectIsa() == best);
    if (saved) setenv("SRIGL_KERNEL_ISA", keep.c_str(), 1);
    else unsetenv("SRIGL_KERNEL_ISA");
}

void TestCondensedKernels::portableMatchesReference() {
    guarded([] { checkIsaAll(Isa::Portable); });
}

void TestCondensedKernels::avx2MatchesReference() {
    if (!isaSupported(Isa::Avx2)) QSKIP("this CPU has no AVX2+FMA: the AVX2 kernels cannot run here");
    guarded([] { checkIsaAll(Isa::Avx2); });
}

void TestCondensedKernels::avx512MatchesReference() {
    if (!isaSupported(Isa::Avx512)) QSKIP("this CPU has no AVX-512F: the AVX-512 kernels cannot run here");
    guarded([] { checkIsaAll(Isa::Avx512); });
}

void TestCondensedKernels::int32IndicesBeyondInt16Range() {
    // inFeatures > 32768 needs int32 indices (the extremes 0 and 40002 are in row 0).
    guarded([] {
        for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512}) {
            if (!isaSupported(isa)) continue;
            checkIsa(isa, {{19, 40003, 45}, {2, 40003, 1}}, {1, 3, 17});
        }
    });
}

void TestCondensedKernels::twoThreadsMatchOneThreadExactly() {
    // The split is by rows and each row's arithmetic is the same, so results are bitwise equal.
    guarded([] {
        const Layer l = makeLayer(600, 1000, 500, true, 7);
        for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512}) {
            if (!isaSupported(isa)) continue;
            for (int64_t batch : {1, 5, 64}) {
                QVERIFY(chooseThreads(batch, l.rows, l.k, 2) == 2);
                const auto x = randomInput(batch, l.inFeatures, 8);
                const auto y1 = run(l, true, x, batch, isa, 1);
                const auto y2 = run(l, true, x, batch, isa, 2);
                QVERIFY2(y1 == y2, qPrintable(describe(l, true, batch, 2, isa)));
            }
        }
    });
}

void TestCondensedKernels::isasAgreeWithEachOther() {
    guarded([] {
        const Layer l = makeLayer(97, 611, 61, true, 11);
        for (int64_t batch : {1, 33}) {
            const auto x = randomInput(batch, l.inFeatures, 12);
            const auto base = run(l, true, x, batch, Isa::Portable, 1);
            for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
                if (!isaSupported(isa)) continue;
                const auto y = run(l, false, x, batch, isa, 2);
                for (size_t i = 0; i < y.size(); ++i)
                    QVERIFY(std::fabs(y[i] - base[i]) <= 1e-4f * (1.0f + std::fabs(base[i])));
            }
        }
    });
}

// A training run must not change with the machine it lands on: the AVX-512 kernels sum every output in
// the AVX2 kernels' order (a last-bit difference in the forward grew to 1e-4 in an MLP's loss within 400
// steps). Forward, both training passes, every batch block (8 runs AVX2's kernel on AVX-512 CPUs), one
// and two threads. Runs where the CPU has AVX-512 (test_avx512_emulation covers the kernels elsewhere).
void TestCondensedKernels::avx2AndAvx512GiveTheSameBits() {
    if (!isaSupported(Isa::Avx512)) QSKIP("this CPU has no AVX-512");
    guarded([] {
        const Layer l = makeLayer(97, 611, 61, true, 31);
        for (int64_t batch : {5, 17, 40, 128}) {
            const auto x = randomInput(batch, l.inFeatures, 32);
            const auto gy = randomInput(batch, l.rows, 33);
            for (bool indices16 : {true, false}) {
                const CondensedView v = l.view(indices16);
                const ColumnLayout columns = buildColumnLayout(v);
                auto passes = [&](Isa isa, int threads) {
                    std::vector<float> y(static_cast<size_t>(batch * l.rows)), ty = y;
                    std::vector<float> gx(static_cast<size_t>(batch * l.inFeatures)), gv(l.values.size());
                    condensedForward(v, x.data(), batch, y.data(), isa, threads);
                    const int64_t block = trainingBlock(batch);
                    std::vector<float> xT(static_cast<size_t>(packedFloats(batch, l.inFeatures, block)));
                    condensedForwardTraining(v, x.data(), batch, block, xT.data(), ty.data(), isa, threads);
                    condensedBackwardTraining(v, &columns, xT.data(), gy.data(), batch, block, gx.data(), gv.data(),
                                              isa, threads);
                    return std::vector<std::vector<float>>{y, ty, gx, gv};
                };
                const auto want = passes(Isa::Avx2, 1);
                for (int threads : {1, 2}) {
                    const auto got = passes(Isa::Avx512, threads);
                    for (size_t o = 0; o < want.size(); ++o)
                        QVERIFY2(got[o] == want[o], qPrintable(QString("output %1 differs at batch %2, %3 threads")
                                                                   .arg(o)
                                                                   .arg(batch)
                                                                   .arg(threads)));
                }
            }
        }
    });
}

void TestCondensedKernels::matchesTorchLinearOnDenseWeight() {
    // The benchmark's check: condensed against torch::linear on the scattered dense weight,
    // max relative error (to the largest output) <= 1e-5 in fp32.
    guarded([] {
        const Layer l = makeLayer(768, 3072, 307, true, 21);
        auto w = torch::zeros({l.rows, l.inFeatures});
        auto wa = w.accessor<float, 2>();
        for (int64_t r = 0; r < l.rows; ++r)
            for (int64_t j = 0; j < l.k; ++j)
                wa[r][l.idx32[static_cast<size_t>(r * l.k + j)]] = l.values[static_cast<size_t>(r * l.k + j)];
        auto bias = torch::from_blob(const_cast<float*>(l.bias.data()), {l.rows}).clone();
        for (int64_t batch : {1, 256}) {
            const auto xv = randomInput(batch, l.inFeatures, 22);
            auto x = torch::from_blob(const_cast<float*>(xv.data()), {batch, l.inFeatures}).clone();
            auto dense = torch::linear(x, w, bias);
            const float norm = dense.abs().max().item<float>();
            const Isa isa = detectIsa();
            const auto y = run(l, true, xv, batch, isa, 2);
            auto yt = torch::from_blob(const_cast<float*>(y.data()), {batch, l.rows}).clone();
            const float err = (yt - dense).abs().max().item<float>() / norm;
            QVERIFY2(err <= 1e-5f, qPrintable(QString("batch %1 isa %2 error %3")
                                                  .arg(batch)
                                                  .arg(QString::fromStdString(toString(isa)))
                                                  .arg(err)));
        }
    });
}

void TestCondensedKernels::chooseThreadsSplitsOnlyLargeWork() {
    QCOMPARE(chooseThreads(1, 768, 307, 1), 1);
    QCOMPARE(chooseThreads(256, 768, 307, 1), 1);
    QCOMPARE(chooseThreads(256, 768, 307, 2), 2);
    QCOMPARE(chooseThreads(1, 768, 614, 2), 2);
    QCOMPARE(chooseThreads(1, 768, 31, 2), 1);    // 99% sparse batch 1: the calling thread only
    QCOMPARE(chooseThreads(1, 10, 5, 2), 1);
    QCOMPARE(chooseThreads(1000, 8, 1000, 2), 1); // one tile of rows cannot be split
    QVERIFY(chooseThreads(256, 768, 307, 64) <= 96);
}

void TestCondensedKernels::concurrentCallersGetCorrectResults() {
    // Two threads calling at once: one gets the worker pool, the other runs serially; both correct.
    guarded([] {
        const Layer l = makeLayer(256, 700, 70, false, 31);
        const int64_t batch = 24;
        const auto x = randomInput(batch, l.inFeatures, 32);
        std::vector<double> ref, scale;
        reference(l, x, batch, ref, scale);
        const Isa isa = detectIsa();
        std::vector<double> errors(2, 0.0);
        std::vector<std::thread> callers;
        for (int t = 0; t < 2; ++t)
            callers.emplace_back([&, t] {
                for (int rep = 0; rep < 20; ++rep) {
                    std::vector<float> y(static_cast<size_t>(batch * l.rows), std::nanf(""));
                    condensedForward(l.view(true), x.data(), batch, y.data(), isa, 2);
                    errors[static_cast<size_t>(t)] = std::max(errors[static_cast<size_t>(t)], maxRelativeError(y, ref, scale));
                }
            });
        for (auto& c : callers) c.join();
        QVERIFY(errors[0] <= 1e-5);
        QVERIFY(errors[1] <= 1e-5);
    });
}

// A worker woken while the other cores look busy (OpenBLAS's idle threads spin after each dense call)
// would queue on the caller's core and the job would run serially, so the pool keeps its workers off
// the CPU the caller posts from (worker_pool.cpp). Checked with the caller pinned to one CPU: every
// worker's allowed set leaves that CPU out, and the parts the worker ran, ran elsewhere.
void TestCondensedKernels::workersStayOffTheCallersCpu() {
#if defined(__linux__)
    const cpu_set_t original = callingThreadCpus();
    QVERIFY(CPU_COUNT(&original) > 0);
    if (CPU_COUNT(&original) < 2) QSKIP("this process may run on one CPU only: nothing to keep apart");
    // The worker exists, started with this thread's whole set of CPUs.
    srigl::kernels::detail::runParallel(4, 2, [](int) {});
    int pinned = 0;
    while (!CPU_ISSET(pinned, &original)) ++pinned;
    QVERIFY(pinCallingThreadTo(pinned));
    std::mutex mutex;
    std::vector<int> workerRanOn;
    std::atomic<bool> workerJoined{false};
    const auto caller = std::this_thread::get_id();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    // The caller's parts wait for the worker to take one (up to 10 s: a loaded machine may run it
    // late), so that where the worker runs is always seen.
    srigl::kernels::detail::runParallel(16, 2, [&](int) {
        if (std::this_thread::get_id() != caller) {
            std::lock_guard<std::mutex> lock(mutex);
            workerRanOn.push_back(sched_getcpu());
            workerJoined = true;
            return;
        }
        while (!workerJoined && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    });
    const auto placed = srigl::kernels::detail::workerCpus();
    pthread_setaffinity_np(pthread_self(), sizeof original, &original);
    QVERIFY(!placed.empty());
    for (const auto& cpus : placed) {
        QVERIFY(!cpus.empty());
        QVERIFY2(std::find(cpus.begin(), cpus.end(), pinned) == cpus.end(), "a worker may still run on the caller's CPU");
    }
    QVERIFY2(!workerRanOn.empty(), "the worker took no part within 10 s");
    for (int cpu : workerRanOn) QVERIFY(cpu != pinned);
#else
    QSKIP("worker placement is Linux-only");
#endif
}

// The pool's CPUs come from the thread that posts, read again when another thread posts: a first
// user pinned to one CPU does not keep later callers' workers there.
void TestCondensedKernels::workersFollowANewCallersCpus() {
#if defined(__linux__)
    const cpu_set_t original = callingThreadCpus();
    QVERIFY(CPU_COUNT(&original) > 0);
    if (CPU_COUNT(&original) < 2) QSKIP("this process may run on one CPU only: nothing to move");
    std::vector<int> mine;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &original)) mine.push_back(c);
    // A job from a new thread pinned to `cpu`; the workers' CPUs afterwards.
    auto workersAfterJobFrom = [](int cpu) {
        std::vector<std::vector<int>> placed;
        bool pinned = false;
        std::thread([&] {
            pinned = pinCallingThreadTo(cpu);
            srigl::kernels::detail::runParallel(4, 2, [](int) {});
            placed = srigl::kernels::detail::workerCpus();
        }).join();
        return pinned ? placed : std::vector<std::vector<int>>{};
    };
    for (int cpu : {mine.front(), mine.back(), mine.front()}) {
        const auto placed = workersAfterJobFrom(cpu);
        QVERIFY2(!placed.empty(), "the thread could not be pinned, or the pool has no worker");
        for (const auto& cpus : placed) QCOMPARE(cpus, std::vector<int>{cpu});
    }
    // This thread (its whole set) posts again: its workers may use every CPU it may but the one it is on.
    srigl::kernels::detail::runParallel(4, 2, [](int) {});
    for (const auto& cpus : srigl::kernels::detail::workerCpus()) {
        QCOMPARE(static_cast<int>(cpus.size()), CPU_COUNT(&original) - 1);
        for (int cpu : cpus) QVERIFY(CPU_ISSET(cpu, &original));
    }
#else
    QSKIP("worker placement is Linux-only");
#endif
}

void TestCondensedKernels::rejectsUnsupportedIsaAndMalformedViews() {
    const Layer l = makeLayer(4, 10, 3, false, 41);
    std::vector<float> x(10, 1.0f), y(4, 0.0f);
    if (!isaSupported(Isa::Avx512)) {
        bool threw = false;
        try {
            condensedForward(l.view(true), x.data(), 1, y.data(), Isa::Avx512, 1);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        QVERIFY(threw);
    }
    CondensedView bad = l.view(true);
    bad.k = 0;
    bool threw = false;
    try {
        condensedForward(bad, x.data(), 1, y.data(), Isa::Portable, 1);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    QVERIFY(threw);
}

void TestCondensedKernels::emptyBatchOrRowsWritesNothing() {
    guarded([] {
        const Layer l = makeLayer(4, 10, 3, true, 51);
        std::vector<float> x(10, 1.0f), y(4, 123.0f);
        condensedForward(l.view(true), x.data(), 0, y.data(), detectIsa(), 2);
        for (float v : y) QCOMPARE(v, 123.0f);
        CondensedView none = l.view(true);
        none.rows = 0;
        condensedForward(none, x.data(), 1, y.data(), detectIsa(), 2);
        for (float v : y) QCOMPARE(v, 123.0f);
    });
}

QTEST_GUILESS_MAIN(TestCondensedKernels)
#include "test_condensed_kernels.moc"
