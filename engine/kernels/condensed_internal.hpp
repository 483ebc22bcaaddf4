// Internals the condensed kernel translation units share (not a public interface): the worker pool's
// entry point and the forward's choice of batch block. Kept out of condensed_kernels.hpp so that
// changing them does not rebuild the models that include it.
#pragma once

#include "engine/kernels/condensed_kernels.hpp"
#include "engine/runtime/worker_pool.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace srigl::kernels::detail {

// The pool the kernels split their work over (engine/runtime/worker_pool.hpp).
using srigl::runParallel;
using srigl::workerCpus;

// y [batch, rows] from x already transposed into xT ([blocks][inFeatures][block], as the packs write
// it): the batched forward's multiply, on up to `threads` threads (the caller's choice).
void multiplyBlocks(const CondensedView& layer, const float* xT, int64_t batch, int64_t block, float* y, Isa isa,
                    int threads);

// The batch block (columns per transposed block: 8, 16 or 32) the forward uses for this batch.
int64_t forwardBlock(int64_t batch);

// The kernel for `isa` among one kernel's per-instruction-set versions.
template <typename F>
F pickKernel(Isa isa, F portable, F avx2, F avx512) {
    return isa == Isa::Avx512 ? avx512 : isa == Isa::Avx2 ? avx2 : portable;
}

// How many parts to split n features (rows) into: at least 8 each, `perThread` per thread so that a
// late worker leaves small pieces to the others; 1 on one thread.
int partsFor(int64_t n, int threads, int perThread);

// Splits [0, n) into `parts` ranges whose inner boundaries are multiples of `align`.
std::pair<int64_t, int64_t> partRange(int64_t n, int parts, int part, int64_t align);

// A 64-byte aligned buffer of at least `floats` floats, one per calling thread and Purpose, reused
// across calls so that a model's layers and a benchmark's iterations allocate nothing after the first.
template <int Purpose>
float* threadScratch(size_t floats) {
    thread_local std::unique_ptr<float[]> storage;
    thread_local size_t capacity = 0;
    if (capacity < floats + 16) {
        capacity = floats + 16;
        storage.reset(new float[capacity]);
    }
    auto address = reinterpret_cast<uintptr_t>(storage.get());
    return storage.get() + ((64 - address % 64) % 64) / sizeof(float);
}

} // namespace srigl::kernels::detail
