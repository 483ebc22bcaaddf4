// The process's own thread pool (worker_pool.hpp): the caller and up to threads - 1 workers claim
// parts of a job from a shared counter.
#include "engine/runtime/worker_pool.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace srigl {
namespace {

// at::parallel_for would run serially in the engine (worker_pool.hpp says why); a tiny pool of our
// own does the splitting instead. Its workers spin briefly after a job, then sleep on a condition
// variable: back-to-back layers (a model's forward, a benchmark loop) find them awake and pay no
// futex wake-up, while an idle process does not burn a core (the machine is shared, and
// OMP_WAIT_POLICY=PASSIVE is set for the same reason).
//
// Parts are claimed from a shared counter rather than assigned: when a worker is slow to wake (a
// loaded machine, where the other core runs someone else's process) the caller takes its parts
// itself, so a call is never much slower than running serially. With fixed assignment, measured
// medians on the loaded 2-core machine were up to 20x worse than one thread.
//
// Workers are kept off the caller's core (Linux). A sleeping worker that is woken while every other
// core looks busy is queued on the waker's core, and a core spinning in OpenBLAS's idle loop
// (2^28 cycles after every dense call) looks busy: the worker then waits behind the caller and the
// job runs serially. Measured on AMD Zen 5, 2 cores, Linear 3072 -> 768 at 90%, batch 256, a dense
// call before each condensed one: in the slow phases the worker woke on the caller's core and did 8
// of 72 parts (2.0-2.8 ms a call); kept off that core it does about half (1.2-1.5 ms, the 1.6 ms of
// back-to-back condensed calls with no BLAS around).

// A number for the calling thread, never given to another (a std::thread::id or pthread_t is reused
// as soon as a thread ends, so a new thread would look like the last one).
uint64_t threadSerial() {
    static std::atomic<uint64_t> last{0};
    thread_local const uint64_t serial = ++last;
    return serial;
}

class WorkerPool {
public:
    static WorkerPool& instance() {
        static WorkerPool pool;
        return pool;
    }

    // Runs fn(part) for every part in [0, parts) on the calling thread and up to threads - 1
    // workers. When another thread is using the pool the whole job runs on the caller (correct,
    // just serial).
    void run(int parts, int threads, const std::function<void(int)>& fn) {
        // A job started from inside a job (by its caller or a worker) runs serially: the pool is busy,
        // and busy_ must not be tried by the thread that holds it.
        if (parts <= 1 || threads <= 1 || insideJob()) {
            for (int p = 0; p < parts; ++p) fn(p);
            return;
        }
        std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
        if (!busy.owns_lock()) {
            for (int p = 0; p < parts; ++p) fn(p);
            return;
        }
        const InsideJob inside;
        ensureWorkers(threads - 1);
        keepWorkersOffCallerCpu(); // before posting: a worker still spinning takes the job at once
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &fn;
            jobParts_ = parts;
            helpers_ = 0;
            maxHelpers_ = threads - 1;
            next_.store(0, std::memory_order_relaxed);
            done_.store(0, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        work(fn, parts);
        // Parts taken by workers are still running: wait for them (briefly spinning, then
        // yielding the core in case the worker is waiting for it).
        for (int i = 0; done_.load(std::memory_order_acquire) != parts; ++i) backOff(i);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = nullptr; // no worker joins from now on
        }
        // A worker that joined but found no part left may still hold fn: wait until it has let go.
        for (int i = 0; active_.load(std::memory_order_acquire) != 0; ++i) backOff(i);
    }

    std::vector<std::vector<int>> cpus() {
        std::lock_guard<std::mutex> lock(busy_); // no job is creating or placing workers meanwhile
        std::vector<std::vector<int>> result;
#if defined(__linux__)
        for (auto& t : workers_) {
            cpu_set_t set;
            CPU_ZERO(&set);
            auto& cpus = result.emplace_back();
            if (pthread_getaffinity_np(t.native_handle(), sizeof set, &set) != 0) continue;
            for (int c = 0; c < CPU_SETSIZE; ++c)
                if (CPU_ISSET(c, &set)) cpus.push_back(c);
        }
#endif
        return result;
    }

    ~WorkerPool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        for (auto& t : workers_) t.join();
    }

private:
    // How long a worker stays awake after a job, waiting for the next one before sleeping.
    static constexpr std::chrono::microseconds kSpin{200};
    // Of which the first part spins without giving the core away.
    static constexpr std::chrono::microseconds kPureSpin{20};

    // Whether this thread is running parts of a job: a worker always, a caller while its job runs.
    static bool& insideJob() {
        thread_local bool inside = false;
        return inside;
    }
    struct InsideJob {
        InsideJob() { insideJob() = true; }
        ~InsideJob() { insideJob() = false; }
        InsideJob(const InsideJob&) = delete;
        InsideJob& operator=(const InsideJob&) = delete;
    };

    static void pause() {
#if defined(__x86_64__)
        _mm_pause();
#else
        std::this_thread::yield();
#endif
    }

    static void backOff(int i) {
        if (i < 4096) pause();
        else std::this_thread::yield();
    }

    void work(const std::function<void(int)>& fn, int parts) {
        for (;;) {
            const int p = next_.fetch_add(1, std::memory_order_relaxed);
            if (p >= parts) return;
            fn(p);
            done_.fetch_add(1, std::memory_order_release);
        }
    }

    // Restricts every worker to the calling thread's CPUs but the one it runs on now. A syscall per
    // worker, only when the caller has moved (or a different thread calls) since the last job. Where
    // that would leave no CPU (a caller allowed one), the workers share the caller's.
    //
    // The set is read from the caller when a different thread posts than last time: a pool whose
    // first user was a thread pinned to one CPU would otherwise keep every later caller's workers
    // there. A thread that narrows its own set between two of its jobs keeps the set it had (reading
    // it every job would add a syscall to every kernel call), so its workers still run beside it.
    void keepWorkersOffCallerCpu() {
#if defined(__linux__)
        const uint64_t caller = threadSerial();
        if (caller != homeOf_) {
            homeOf_ = caller;
            CPU_ZERO(&home_);
            homeKnown_ = pthread_getaffinity_np(pthread_self(), sizeof home_, &home_) == 0;
            awayFrom_ = -2;
        }
        const int cpu = sched_getcpu();
        if (cpu == awayFrom_ || !homeKnown_) return;
        awayFrom_ = cpu;
        cpu_set_t allowed = home_;
        if (cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed) && CPU_COUNT(&allowed) > 1)
            CPU_CLR(cpu, &allowed);
        // A failure (a cpuset changed under us) leaves the worker where it was: placement is only speed.
        for (auto& t : workers_) pthread_setaffinity_np(t.native_handle(), sizeof allowed, &allowed);
#endif
    }

    void ensureWorkers(int count) {
        while (static_cast<int>(workers_.size()) < count) {
            // The worker starts from the generation before the job about to be posted: reading it
            // in the new thread could already see that job's generation and then miss the job.
            const uint64_t before = generation_.load(std::memory_order_acquire);
            workers_.emplace_back([this, before] { loop(before); });
            awayFrom_ = -2; // place the new worker too
        }
    }

    void loop(uint64_t seen) {
        insideJob() = true;
        for (;;) {
            // Spin briefly (the next layer's kernel usually follows within microseconds), then keep
            // checking while yielding the core (on 2 cores a spinning worker would halve the BLAS
            // and LibTorch work between kernel calls), then sleep until the generation changes.
            const auto now = std::chrono::steady_clock::now();
            const auto yieldFrom = now + kPureSpin, until = now + kSpin;
            bool yielding = false;
            for (int i = 0; generation_.load(std::memory_order_acquire) == seen; ++i) {
                if (yielding || (i & 63) == 63) {
                    const auto t = std::chrono::steady_clock::now();
                    if (t > until) {
                        std::unique_lock<std::mutex> lock(mutex_);
                        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
                        break;
                    }
                    yielding = t > yieldFrom;
                }
                if (yielding) std::this_thread::yield();
                else pause();
            }
            const std::function<void(int)>* job = nullptr;
            int parts = 0;
            {
                // Generation and job are read together, and joining is counted under the lock, so
                // the caller cannot finish (and its fn go away) while this worker holds it.
                std::lock_guard<std::mutex> lock(mutex_);
                if (stop_) return;
                seen = generation_.load(std::memory_order_acquire);
                if (job_ && helpers_ < maxHelpers_) {
                    job = job_;
                    parts = jobParts_;
                    ++helpers_;
                    active_.fetch_add(1, std::memory_order_relaxed);
                }
            }
            if (job) {
                work(*job, parts);
                active_.fetch_sub(1, std::memory_order_release);
            }
        }
    }

    std::mutex busy_;  // one job at a time
    std::mutex mutex_; // guards job_, jobParts_, helpers_, maxHelpers_, stop_ and the sleep
    std::condition_variable wake_;
    std::vector<std::thread> workers_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> next_{0};   // next unclaimed part
    std::atomic<int> done_{0};   // parts finished
    std::atomic<int> active_{0}; // workers inside the current job
    const std::function<void(int)>* job_ = nullptr;
    int jobParts_ = 0;
    int helpers_ = 0;
    int maxHelpers_ = 0;
    bool stop_ = false;
    int awayFrom_ = -2; // the caller's CPU the workers were last kept off (-2: never)
#if defined(__linux__)
    cpu_set_t home_{};       // the CPUs homeOf_ may run on
    bool homeKnown_ = false;
    uint64_t homeOf_ = 0;    // threadSerial() of the thread that posted the last job
#endif
};

} // namespace

void runParallel(int parts, int threads, const std::function<void(int)>& fn) {
    WorkerPool::instance().run(parts, threads, fn);
}

void parallelFor(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn,
                 int threads) {
    if (end <= begin) return;
    const int64_t n = end - begin;
    grain = std::max<int64_t>(1, grain);
    const int64_t ranges = std::max<int64_t>(1, n / grain); // as many as the grain allows
    const int useThreads = static_cast<int>(std::min<int64_t>(ranges, threads > 0 ? threads : at::get_num_threads()));
    if (useThreads <= 1) {
        fn(begin, end);
        return;
    }
    // Up to four ranges per thread: a worker that wakes late (the other core busy) leaves the caller
    // smaller pieces to take over.
    const int parts = static_cast<int>(std::min<int64_t>(ranges, int64_t{4} * useThreads));
    std::mutex errorMutex;
    std::exception_ptr error;
    std::atomic<bool> failed{false};
    runParallel(parts, useThreads, [&](int part) {
        if (failed.load(std::memory_order_relaxed)) return;
        const int64_t b = begin + n * part / parts, e = begin + n * (part + 1) / parts;
        try {
            fn(b, e);
        } catch (...) {
            std::lock_guard<std::mutex> lock(errorMutex);
            if (!error) error = std::current_exception();
            failed = true;
        }
    });
    if (error) std::rethrow_exception(error);
}

std::vector<std::vector<int>> workerCpus() { return WorkerPool::instance().cpus(); }

} // namespace srigl
