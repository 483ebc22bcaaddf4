// The process's own small thread pool (worker_pool.cpp), for the condensed kernels and for the
// engine's row-parallel loops (mask updates, masks, synthetic data).
//
// Why not at::parallel_for: Debian's LibTorch runs it through OpenMP, whose `#pragma omp parallel`
// sits in LibTorch's header; the engine is compiled without -fopenmp (the CUDA LibTorch of Python's
// torch brings its own libgomp, and two OpenMP runtimes in one process oversubscribe the cores), so
// at::parallel_for called from our code runs on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace srigl {

// Runs fn(part) for every part in [0, parts) on the calling thread and up to threads - 1 workers of
// the pool (parts are claimed from a shared counter, so a worker slow to wake leaves its parts to the
// caller). Serial when threads <= 1, when another thread is using the pool, or when called from inside
// a job (a part that splits again). fn must not throw.
void runParallel(int parts, int threads, const std::function<void(int)>& fn);

// fn(b, e) over consecutive ranges that cover [begin, end), each at least `grain` long (one range when
// the whole is shorter), on up to `threads` threads (<= 0: LibTorch's intra-op thread count, which
// configureThreads sets). Ranges never overlap; which thread runs which range is not fixed, so fn must
// write disjoint outputs or join its results in range order. An exception thrown by fn is rethrown
// here once every range has finished or been skipped.
void parallelFor(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn,
                 int threads = 0);

// The CPUs each of the pool's workers may run on now (Linux; empty elsewhere): what its placement
// rule chose (worker_pool.cpp), for tests.
std::vector<std::vector<int>> workerCpus();

} // namespace srigl
