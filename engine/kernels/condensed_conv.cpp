// The direct condensed convolution (see condensed_conv.hpp for the layout): offsets of the kept taps,
// the split over images and output channels, padding, and the portable inner loops.
#include "engine/kernels/condensed_conv.hpp"
#include "engine/kernels/condensed_internal.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace srigl::kernels {
namespace {

// Scratch buffers per thread (detail::threadScratch purposes; other kernels use 0 and 10-11).
constexpr int kPaddedInput = 20, kWideRow = 21, kBorderedGrad = 22;

// Below about this many multiply-adds a second thread costs more to wake than it saves.
constexpr int64_t kMinWorkPerThread = 64 * 1024;

// Images per group for grad_values' partial sums: fixed by the batch alone, so the order of the sum
// (groups in order) does not depend on the thread count.
constexpr int64_t kMaxGroups = 32;

[[noreturn]] void reject(const char* what, const std::string& message) {
    throw std::invalid_argument(std::string(what) + ": " + message);
}

void check(const char* what, const CondensedView& layer, const ConvGeometry& g, Isa isa) {
    if (!isaSupported(isa)) reject(what, "instruction set " + toString(isa) + " is not supported by this CPU");
    if (g.batch < 0 || g.channels < 1 || g.height < 1 || g.width < 1 || g.kernelH < 1 || g.kernelW < 1 ||
        g.padding < 0 || g.outH() < 1 || g.outW() < 1)
        reject(what, "malformed geometry (sizes must be >= 1 and the kernel must fit the padded image)");
    if (!layer.values || !layer.indices || layer.k < 1 || layer.rows < 1 || layer.inFeatures != g.taps())
        reject(what, "malformed condensed layer (rows, k >= 1 and inFeatures == channels * kh * kw)");
    // Offsets are int32 (half the index traffic): every plane this touches must fit.
    const int64_t plane = g.paddedH() * g.paddedW();
    const int64_t bordered = plane + (g.kernelH - 1) * g.paddedW() + g.kernelW - 1;
    if (g.channels * plane >= std::numeric_limits<int32_t>::max() ||
        layer.rows * bordered >= std::numeric_limits<int32_t>::max())
        reject(what, "image too large for 32-bit offsets");
}

int64_t tapAt(const CondensedView& layer, int64_t e) {
    return layer.indices16 ? static_cast<const int16_t*>(layer.indices)[e]
                           : static_cast<const int32_t*>(layer.indices)[e];
}

// Where each kept tap reads a padded image: c * plane + dy * Wp + dx, [rows * k].
std::vector<int32_t> tapOffsets(const CondensedView& layer, const ConvGeometry& g) {
    const int64_t area = g.kernelH * g.kernelW, plane = g.paddedH() * g.paddedW();
    std::vector<int32_t> offsets(static_cast<size_t>(layer.rows * layer.k));
    for (int64_t e = 0; e < layer.rows * layer.k; ++e) {
        const int64_t tap = tapAt(layer, e);
        if (tap < 0 || tap >= layer.inFeatures) reject("condensedConv", "a tap index lies outside [0, in * kh * kw)");
        const int64_t c = tap / area, dy = tap % area / g.kernelW, dx = tap % g.kernelW;
        offsets[static_cast<size_t>(e)] = static_cast<int32_t>(c * plane + dy * g.paddedW() + dx);
    }
    return offsets;
}

// Image n with a zero border of `padding`, into `out` [channels, Hp, Wp]; or the image itself unpadded.
const float* paddedImage(const ConvGeometry& g, const float* x, int64_t n, float* out) {
    const float* image = x + n * g.channels * g.height * g.width;
    if (g.padding == 0) return image;
    const int64_t Wp = g.paddedW();
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(g.channels * g.paddedH() * Wp));
    for (int64_t c = 0; c < g.channels; ++c)
        for (int64_t y = 0; y < g.height; ++y)
            std::memcpy(out + (c * g.paddedH() + y + g.padding) * Wp + g.padding, image + (c * g.height + y) * g.width,
                        sizeof(float) * static_cast<size_t>(g.width));
    return out;
}

using SumFn = void (*)(const float*, const int32_t*, const float*, int64_t, int64_t, float, float*);
using DotsFn = void (*)(const float*, const float*, const int32_t*, int64_t, int64_t, float*);

SumFn sumFor(Isa isa) { return isa == Isa::Portable ? detail::shiftedSumPortable : detail::shiftedSumAvx2; }
DotsFn dotsFor(Isa isa) { return isa == Isa::Portable ? detail::shiftedDotsPortable : detail::shiftedDotsAvx2; }

int threadsFor(int threads, int64_t work) {
    const int maxThreads = threads > 0 ? threads : at::get_num_threads();
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(maxThreads, work / kMinWorkPerThread)));
}

} // namespace

void condensedConvForward(const CondensedView& layer, const ConvGeometry& g, const float* x, float* y, Isa isa,
                          int threads) {
    check("condensedConvForward", layer, g, isa);
    if (g.batch == 0) return;
    if (!x || !y) reject("condensedConvForward", "null buffers");
    const std::vector<int32_t> offsets = tapOffsets(layer, g);
    const int64_t Wp = g.paddedW(), outH = g.outH(), outW = g.outW();
    const int64_t wide = (outH - 1) * Wp + outW; // output pixels computed per channel, dropped columns included
    const SumFn sum = sumFor(isa);

    const int useThreads = threadsFor(threads, g.batch * layer.rows * layer.k * wide);
    // Images are the natural parts; a small batch (inference) also splits the output channels.
    const int64_t rowBlocks =
        std::min<int64_t>(layer.rows, std::max<int64_t>(1, (4 * useThreads + g.batch - 1) / g.batch));
    const int parts = static_cast<int>(g.batch * rowBlocks);
    detail::runParallel(parts, useThreads, [&](int part) {
        const int64_t n = part / rowBlocks;
        const auto [r0, r1] =
            detail::partRange(layer.rows, static_cast<int>(rowBlocks), static_cast<int>(part % rowBlocks), 1);
        const float* image = paddedImage(
            g, x, n, detail::threadScratch<kPaddedInput>(static_cast<size_t>(g.channels * g.paddedH() * Wp)));
        float* row = detail::threadScratch<kWideRow>(static_cast<size_t>(wide));
        for (int64_t r = r0; r < r1; ++r) {
            sum(image, offsets.data() + r * layer.k, layer.values + r * layer.k, layer.k, wide,
                layer.bias ? layer.bias[r] : 0.0f, row);
            float* out = y + (n * layer.rows + r) * outH * outW;
            for (int64_t oy = 0; oy < outH; ++oy)
                std::memcpy(out + oy * outW, row + oy * Wp, sizeof(float) * static_cast<size_t>(outW));
        }
    });
}

void condensedConvBackward(const CondensedView& layer, const ConvGeometry& g, const float* x, const float* gy,
                           float* gx, float* gv, Isa isa, int threads) {
    check("condensedConvBackward", layer, g, isa);
    if (!gx && !gv) return;
    if (g.batch == 0) {
        if (gv) std::fill(gv, gv + layer.rows * layer.k, 0.0f);
        return;
    }
    if (!gy || (gv && !x)) reject("condensedConvBackward", "null buffers");
    const std::vector<int32_t> offsets = tapOffsets(layer, g);
    const int64_t Wp = g.paddedW(), plane = g.paddedH() * Wp, outH = g.outH(), outW = g.outW();
    const int64_t wide = (outH - 1) * Wp + outW;
    // The output gradient is laid out wide, with a zero border of `lead` floats before each channel, so
    // that grad_input's shifted reads (q - dy * Wp - dx) never leave it: [rows][lead + plane].
    const int64_t lead = (g.kernelH - 1) * Wp + g.kernelW - 1, bordered = lead + plane;
    // grad_input is computed over the unpadded pixels only: positions first .. first + inWide of the
    // padded plane, wide like the forward's rows.
    const int64_t first = g.padding * Wp + g.padding, inWide = (g.height - 1) * Wp + g.width;

    // The transposed layer for grad_input: per input channel, the taps that read it, with the offset of
    // the output gradient each one reads and its weight (a counting sort by channel).
    std::vector<int64_t> start(static_cast<size_t>(g.channels + 1), 0);
    std::vector<int32_t> backOffset;
    std::vector<float> backValue;
    if (gx) {
        const int64_t nnz = layer.rows * layer.k;
        for (int64_t e = 0; e < nnz; ++e) ++start[static_cast<size_t>(offsets[static_cast<size_t>(e)] / plane + 1)];
        for (int64_t c = 0; c < g.channels; ++c) start[static_cast<size_t>(c + 1)] += start[static_cast<size_t>(c)];
        std::vector<int64_t> fill(start.begin(), start.end() - 1);
        backOffset.resize(static_cast<size_t>(nnz));
        backValue.resize(static_cast<size_t>(nnz));
        for (int64_t e = 0; e < nnz; ++e) {
            const int64_t offset = offsets[static_cast<size_t>(e)], c = offset / plane, shift = offset % plane;
            const auto at = static_cast<size_t>(fill[static_cast<size_t>(c)]++);
            backOffset[at] = static_cast<int32_t>(e / layer.k * bordered + lead - shift + first);
            backValue[at] = layer.values[e];
        }
    }

    const SumFn sum = sumFor(isa);
    const DotsFn dots = dotsFor(isa);
    const int64_t groups = std::min(g.batch, kMaxGroups);
    std::vector<float> partial(gv ? static_cast<size_t>(groups * layer.rows * layer.k) : 0, 0.0f);
    const int useThreads = threadsFor(threads, g.batch * layer.rows * layer.k * wide * (gx && gv ? 2 : 1));
    detail::runParallel(static_cast<int>(groups), useThreads, [&](int group) {
        const auto [n0, n1] = detail::partRange(g.batch, static_cast<int>(groups), group, 1);
        float* border = detail::threadScratch<kBorderedGrad>(static_cast<size_t>(layer.rows * bordered));
        float* padded = detail::threadScratch<kPaddedInput>(static_cast<size_t>(g.channels * plane));
        float* row = detail::threadScratch<kWideRow>(static_cast<size_t>(inWide));
        float* acc = gv ? partial.data() + group * layer.rows * layer.k : nullptr;
        for (int64_t n = n0; n < n1; ++n) {
            std::memset(border, 0, sizeof(float) * static_cast<size_t>(layer.rows * bordered));
            for (int64_t r = 0; r < layer.rows; ++r)
                for (int64_t oy = 0; oy < outH; ++oy)
                    std::memcpy(border + r * bordered + lead + oy * Wp, gy + ((n * layer.rows + r) * outH + oy) * outW,
                                sizeof(float) * static_cast<size_t>(outW));
            if (gx) {
                for (int64_t c = 0; c < g.channels; ++c) {
                    const int64_t s0 = start[static_cast<size_t>(c)], count = start[static_cast<size_t>(c + 1)] - s0;
                    float* out = gx + (n * g.channels + c) * g.height * g.width;
                    if (count == 0) {
                        std::memset(out, 0, sizeof(float) * static_cast<size_t>(g.height * g.width));
                        continue;
                    }
                    sum(border, backOffset.data() + s0, backValue.data() + s0, count, inWide, 0.0f, row);
                    for (int64_t iy = 0; iy < g.height; ++iy)
                        std::memcpy(out + iy * g.width, row + iy * Wp, sizeof(float) * static_cast<size_t>(g.width));
                }
            }
            if (gv) {
                const float* image = paddedImage(g, x, n, padded);
                for (int64_t r = 0; r < layer.rows; ++r)
                    dots(border + r * bordered + lead, image, offsets.data() + r * layer.k, layer.k, wide,
                         acc + r * layer.k);
            }
        }
    });
    if (!gv) return;
    const int64_t nnz = layer.rows * layer.k;
    std::copy(partial.begin(), partial.begin() + nnz, gv);
    for (int64_t group = 1; group < groups; ++group)
        for (int64_t e = 0; e < nnz; ++e) gv[e] += partial[static_cast<size_t>(group * nnz + e)];
}

namespace detail {

void shiftedSumPortable(const float* src, const int32_t* offset, const float* v, int64_t k, int64_t length, float init,
                        float* out) {
    std::fill(out, out + length, init);
    for (int64_t j = 0; j < k; ++j) {
        const float* s = src + offset[j];
        const float w = v[j];
        for (int64_t p = 0; p < length; ++p) out[p] += w * s[p];
    }
}

void shiftedDotsPortable(const float* g, const float* src, const int32_t* offset, int64_t k, int64_t length,
                         float* acc) {
    for (int64_t j = 0; j < k; ++j) {
        const float* s = src + offset[j];
        float total = 0.0f;
        for (int64_t p = 0; p < length; ++p) total += g[p] * s[p];
        acc[j] += total;
    }
}

#if !defined(__x86_64__)
// Without x86 the AVX2 names run the portable loops (dispatch never picks them: isaSupported is false).
void shiftedSumAvx2(const float* src, const int32_t* offset, const float* v, int64_t k, int64_t length, float init,
                    float* out) {
    shiftedSumPortable(src, offset, v, k, length, init, out);
}
void shiftedDotsAvx2(const float* g, const float* src, const int32_t* offset, int64_t k, int64_t length, float* acc) {
    shiftedDotsPortable(g, src, offset, k, length, acc);
}
#endif

} // namespace detail

} // namespace srigl::kernels
