// Our CPU kernels for a condensed constant fan-in layer: y[b, r] = bias[r] + sum_j values[r, j] *
// x[b, indices[r, j]]. Raw pointers and plain types only, so they can be timed and tested without the
// Torch wrapper in the way; the instruction set is chosen at run time (AVX-512, AVX2, portable).
#pragma once

#include <cstdint>
#include <string>

namespace srigl::kernels {

enum class Isa { Portable, Avx2, Avx512 };

// The best instruction set this CPU supports (and the build allows); SRIGL_KERNEL_ISA=portable|avx2|
// avx512 in the environment forces a lower one, for tests and for measuring the gain.
Isa detectIsa();
bool isaSupported(Isa isa);
std::string toString(Isa isa);

// A condensed layer: `rows` active neurons, each with exactly `k` (value, input index) pairs in
// row-major [rows, k] arrays. Indices are int16 when inFeatures <= 32768, else int32; each lies in
// [0, inFeatures). bias may be null.
struct CondensedView {
    const float* values = nullptr;
    const void* indices = nullptr;
    bool indices16 = true;
    int64_t rows = 0;
    int64_t k = 0;
    int64_t inFeatures = 0;
    const float* bias = nullptr;
};

// x: [batch, inFeatures] row-major, y: [batch, rows] row-major (fully written). `threads` <= 0 means
// the engine's thread count (at::get_num_threads()); 1 runs on the calling thread only.
// Throws std::invalid_argument when `isa` cannot run on this CPU (isaSupported(isa) is false) or the
// view is malformed (null pointers, k < 1 while rows > 0).
void condensedForward(const CondensedView& layer, const float* x, int64_t batch, float* y, Isa isa,
                      int threads = 0);

// How many threads condensedForward uses for this much work when allowed at most `maxThreads`:
// small layers run on the calling thread because waking a sleeping worker costs more than it saves.
int chooseThreads(int64_t batch, int64_t rows, int64_t k, int maxThreads);

// Internals shared by the per-ISA translation units (condensed_kernels_avx2.cpp, _avx512.cpp);
// not meant to be called from elsewhere.
namespace detail {

// One call's work for the batched kernels: xT holds the input transposed in blocks of `block`
// batch columns (8, 16, 32 or 64; 16 and up for AVX-512), [ceil(batch / block)][inFeatures][block],
// zero past the batch, 64-byte aligned.
struct BatchedArgs {
    const CondensedView* layer = nullptr;
    const float* xT = nullptr;
    int64_t batch = 0;
    int64_t block = 0;
    float* y = nullptr;
};

// Rows [r0, r1) for one sample (y[r] for r in the range) and rows [r0, r1) for every batch column.
void gemvRowsPortable(const CondensedView& layer, const float* x, float* y, int64_t r0, int64_t r1);
void gemmRowsPortable(const BatchedArgs& args, int64_t r0, int64_t r1);
void gemvRowsAvx2(const CondensedView& layer, const float* x, float* y, int64_t r0, int64_t r1);
void gemmRowsAvx2(const BatchedArgs& args, int64_t r0, int64_t r1);
void gemmRowsAvx512(const BatchedArgs& args, int64_t r0, int64_t r1);

// Fills features [f0, f1) of every block of xT from x [batch, inFeatures].
void packTransposedPortable(const float* x, int64_t batch, int64_t inFeatures, int64_t block, float* xT,
                            int64_t f0, int64_t f1);
void packTransposedAvx2(const float* x, int64_t batch, int64_t inFeatures, int64_t block, float* xT,
                        int64_t f0, int64_t f1);

} // namespace detail

} // namespace srigl::kernels
