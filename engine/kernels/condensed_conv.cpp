// The direct condensed convolution (see condensed_conv.hpp for the layout): offsets of the kept taps,
// the split over images and output channels, padding and phase planes, and the portable inner loops.
#include "engine/kernels/condensed_conv.hpp"
#include "engine/kernels/avx512_dispatch.hpp"
#include "engine/kernels/condensed_internal.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace srigl::kernels {
namespace {

// Scratch buffers per thread (detail::threadScratch purposes; other kernels use 0 and 10-11).
constexpr int kPhaseInput = 20, kWideRow = 21, kBorderedGrad = 22;

// Below about this many multiply-adds a second thread costs more to wake than it saves.
constexpr int64_t kMinWorkPerThread = 64 * 1024;

// Images per group for grad_values' partial sums: fixed by the batch alone, so the order of the sum
// (groups in order) does not depend on the thread count.
constexpr int64_t kMaxGroups = 32;

// Phase planes along one axis are at most the stride and the kernel size; wider strides are refused.
constexpr int64_t kMaxPhases = 64;

// Small images are stacked: a block of images lies channel by channel, image after image (see
// stackFor), so that a tap's pass runs over the whole block. A pass over one 4x4 image padded to 6x6
// is 22 outputs, too short to cover the loop's set-up (ResNet-18's last stage lost to the dense
// convolution: docs/benchmarks.md). Passes of kShortPass outputs and more stay one image each: stacking
// them measured slower (the block's input and output gradient outgrow the core's cache).
constexpr int64_t kShortPass = 64;
constexpr int64_t kStackFloats = 512; // the stacked planes of one channel: a pass of about this length
constexpr int64_t kMinBlocks = 8;     // stacking never leaves fewer parts than this (or the images)

[[noreturn]] void reject(const char* what, const std::string& message) {
    throw std::invalid_argument(std::string(what) + ": " + message);
}

// Images per stacked block (1: every image on its own) and how many blocks the batch makes. Both
// follow from the geometry and the batch alone, never from the thread count, so that grad_values' sums
// run in the same order on any number of threads.
struct Stacking {
    int64_t stack = 1;  // images per block, at most
    int64_t blocks = 0; // blocks of the batch (images per block: partRange of the batch)
};

Stacking stackFor(const ConvGeometry& g, int64_t maxBlocks = std::numeric_limits<int64_t>::max()) {
    const int64_t plane = g.planeH() * g.planeW(), pass = (g.outH() - 1) * g.planeW() + g.outW();
    const int64_t wanted = pass >= kShortPass ? 1 : std::max<int64_t>(1, kStackFloats / plane);
    int64_t blocks = std::max((g.batch + wanted - 1) / wanted, std::min(g.batch, kMinBlocks));
    blocks = std::max<int64_t>(1, std::min(blocks, maxBlocks));
    const int64_t perBlock = (g.batch + blocks - 1) / blocks;
    return {std::min(perBlock, wanted), blocks};
}

void check(const char* what, const CondensedView& layer, const ConvGeometry& g, Isa isa) {
    if (!isaSupported(isa)) reject(what, "instruction set " + toString(isa) + " is not supported by this CPU");
    if (g.batch < 0 || g.channels < 1 || g.height < 1 || g.width < 1 || g.kernelH < 1 || g.kernelW < 1 ||
        g.padding < 0 || g.stride < 1 || g.paddedH() < g.kernelH || g.paddedW() < g.kernelW)
        reject(what, "malformed geometry (sizes and stride must be >= 1 and the kernel must fit the padded image)");
    if (g.phasesH() > kMaxPhases || g.phasesW() > kMaxPhases)
        reject(what, "stride and kernel both above " + std::to_string(kMaxPhases) + " are not supported");
    if (!layer.values || !layer.indices || layer.k < 1 || layer.rows < 1 || layer.inFeatures != g.taps())
        reject(what, "malformed condensed layer (rows, k >= 1 and inFeatures == channels * kh * kw)");
    // Offsets are int32 (half the index traffic): every plane this touches must fit, stacked as the
    // forward or the backward stacks it.
    const int64_t stack = std::max(stackFor(g).stack, stackFor(g, kMaxGroups).stack);
    const int64_t plane = stack * g.planeH() * g.planeW();
    const int64_t bordered = plane + (g.kernelH - 1) / g.stride * g.planeW() + (g.kernelW - 1) / g.stride;
    if (g.channels * g.phasesH() * g.phasesW() * plane >= std::numeric_limits<int32_t>::max() ||
        layer.rows * bordered >= std::numeric_limits<int32_t>::max())
        reject(what, "image too large for 32-bit offsets");
}

// Where each kept tap reads the stacked phase images (see phaseImages): its phase plane (c, dy % s,
// dx % s) times the stacked planes' size, plus dy / s rows and dx / s columns; [rows * k]. Worked out
// once per tap of the kernel (channels * kh * kw) and looked up per kept weight: four divisions per
// kept weight were 1.4% of a ResNet-18 step's samples (perf, stop 44).
template <typename Index>
void lookUpOffsets(const Index* taps, int64_t count, const std::vector<int32_t>& offsetOfTap, int32_t* out) {
    const auto size = static_cast<int64_t>(offsetOfTap.size());
    for (int64_t e = 0; e < count; ++e) {
        const int64_t tap = taps[e];
        if (tap < 0 || tap >= size) reject("condensedConv", "a tap index lies outside [0, in * kh * kw)");
        out[e] = offsetOfTap[static_cast<size_t>(tap)];
    }
}

std::vector<int32_t> tapOffsets(const CondensedView& layer, const ConvGeometry& g, int64_t stack) {
    const int64_t plane = stack * g.planeH() * g.planeW(), s = g.stride;
    std::vector<int32_t> offsetOfTap(static_cast<size_t>(layer.inFeatures));
    size_t tap = 0;
    for (int64_t c = 0; c < g.channels; ++c)
        for (int64_t dy = 0; dy < g.kernelH; ++dy)
            for (int64_t dx = 0; dx < g.kernelW; ++dx) {
                const int64_t phase = (c * g.phasesH() + dy % s) * g.phasesW() + dx % s;
                offsetOfTap[tap++] = static_cast<int32_t>(phase * plane + dy / s * g.planeW() + dx / s);
            }
    std::vector<int32_t> offsets(static_cast<size_t>(layer.rows * layer.k));
    if (layer.indices16)
        lookUpOffsets(static_cast<const int16_t*>(layer.indices), layer.rows * layer.k, offsetOfTap, offsets.data());
    else
        lookUpOffsets(static_cast<const int32_t*>(layer.indices), layer.rows * layer.k, offsetOfTap, offsets.data());
    return offsets;
}

// Copies and clears of image rows: a 4x4 image's rows are 16 bytes and an 8x8 one's 32, and through
// memcpy and memset each was a call of its own (perf, stop 44: 11% of a ResNet-18 step's samples in
// memmove, memset and phaseImage). Short ones are inlined here as fixed-size moves, which made the 4x4
// layers 9% faster; from 64 floats on a call's cost is spread over enough bytes to keep it.
constexpr int64_t kShortCopy = 64;

inline void copyFloats(const float* from, int64_t count, float* to) {
    if (count >= kShortCopy) {
        std::memcpy(to, from, sizeof(float) * static_cast<size_t>(count));
        return;
    }
    int64_t t = 0;
    for (; t + 16 <= count; t += 16) std::memcpy(to + t, from + t, 16 * sizeof(float));
    if (t + 8 <= count) std::memcpy(to + t, from + t, 8 * sizeof(float)), t += 8;
    if (t + 4 <= count) std::memcpy(to + t, from + t, 4 * sizeof(float)), t += 4;
    if (t + 2 <= count) std::memcpy(to + t, from + t, 2 * sizeof(float)), t += 2;
    if (t < count) to[t] = from[t];
}

inline void zeroFloats(float* to, int64_t count) {
    if (count >= kShortCopy) {
        std::memset(to, 0, sizeof(float) * static_cast<size_t>(count));
        return;
    }
    static constexpr float kZeros[16] = {};
    int64_t t = 0;
    for (; t + 16 <= count; t += 16) std::memcpy(to + t, kZeros, sizeof(kZeros));
    if (t + 8 <= count) std::memcpy(to + t, kZeros, 8 * sizeof(float)), t += 8;
    if (t + 4 <= count) std::memcpy(to + t, kZeros, 4 * sizeof(float)), t += 4;
    if (t + 2 <= count) std::memcpy(to + t, kZeros, 2 * sizeof(float)), t += 2;
    if (t < count) to[t] = 0.0f;
}

// to[t] = from[t * step] for t in [0, count); step 2 (every strided layer of the CIFAR ResNets) gets a
// loop whose constant stride the compiler can vectorise.
void stridedCopy(const float* from, int64_t step, int64_t count, float* to) {
    if (step == 1) {
        copyFloats(from, count, to);
    } else if (step == 2) {
        for (int64_t t = 0; t < count; ++t) to[t] = from[2 * t];
    } else {
        for (int64_t t = 0; t < count; ++t) to[t] = from[t * step];
    }
}

// The rows (or columns) i of phase a whose padded position s * i + a is a pixel of the image, not of
// its border: [first, last]; empty when last < first.
std::pair<int64_t, int64_t> imageSpan(int64_t phase, int64_t stride, int64_t padding, int64_t size) {
    const int64_t first = padding > phase ? (padding - phase + stride - 1) / stride : 0;
    const int64_t end = padding + size - phase; // one past the last image position, relative to the phase
    return {first, end > 0 ? (end - 1) / stride : -1};
}

// One image's phase planes into slot `slot` of the stacked layout (phaseImages).
void phaseImage(const ConvGeometry& g, const float* x, int64_t n, int64_t slot, int64_t stack, float* out) {
    const float* image = x + n * g.channels * g.height * g.width;
    const int64_t s = g.stride, pH = g.phasesH(), pW = g.phasesW(), Hq = g.planeH(), Wq = g.planeW();
    const int64_t plane = Hq * Wq;
    std::pair<int64_t, int64_t> rows[kMaxPhases], columns[kMaxPhases];
    for (int64_t a = 0; a < pH; ++a) rows[a] = imageSpan(a, s, g.padding, g.height);
    for (int64_t b = 0; b < pW; ++b) columns[b] = imageSpan(b, s, g.padding, g.width);
    auto clear = [](float* from, int64_t count) {
        if (count > 0) zeroFloats(from, count);
    };
    for (int64_t c = 0; c < g.channels; ++c) {
        float* channel = out + c * pH * pW * stack * plane + slot * plane;
        for (int64_t a = 0; a < pH; ++a)
            for (int64_t b = 0; b < pW; ++b) {
                float* dst = channel + (a * pW + b) * stack * plane;
                const auto [i0, i1] = rows[a];
                const auto [j0, j1] = columns[b];
                if (i1 < i0 || j1 < j0) {
                    clear(dst, plane);
                    continue;
                }
                clear(dst, i0 * Wq + j0);
                for (int64_t i = i0; i < i1; ++i) clear(dst + i * Wq + j1 + 1, Wq - (j1 - j0 + 1));
                clear(dst + i1 * Wq + j1 + 1, plane - (i1 * Wq + j1 + 1));
                // A shared border (stride 1, one plane): the bottom one lies in the slot after this
                // image's, which the next image's top border clears again, or past the last slot of the
                // block (the next channel's first slot, or the planeTail() floats past the planes).
                clear(dst + plane, g.planeTail());
            }
        const float* src = image + c * g.height * g.width;
        for (int64_t y = 0; y < g.height; ++y) {
            const int64_t a = (y + g.padding) % s, i = (y + g.padding) / s;
            if (a >= pH) continue; // a row no tap reads
            for (int64_t b = 0; b < pW; ++b) {
                const auto [j0, j1] = columns[b];
                if (j1 >= j0)
                    stridedCopy(src + y * g.width + s * j0 + b - g.padding, s, j1 - j0 + 1,
                                channel + (a * pW + b) * stack * plane + i * Wq + j0);
            }
        }
    }
}

// Images n .. n + count - 1 as their phase planes [channels][phasesH][phasesW][stack][planeH][planeW]
// with the zero border of `padding` (plane (a, b) of an image holds its padded pixel (s * i + a,
// s * j + b) at (i, j)), into `out`; with one image per block at stride 1 without padding, the image
// itself. Each image is read once, row by row (the copy is bound by those reads), and only the border
// of each plane is cleared.
// With a shared border (ConvGeometry::sharedBorder) `out` holds planeTail() floats more, for the last
// image's bottom border.
const float* phaseImages(const ConvGeometry& g, const float* x, int64_t n, int64_t count, int64_t stack, float* out) {
    if (stack == 1 && g.padding == 0 && g.stride == 1) return x + n * g.channels * g.height * g.width;
    for (int64_t i = 0; i < count; ++i) phaseImage(g, x, n + i, i, stack, out);
    return out;
}

using SumFn = void (*)(const float*, const int32_t*, const float*, int64_t, int64_t, float, float*);
using DotsFn = void (*)(const float*, const float*, const int32_t*, int64_t, int64_t, float*);

SumFn sumFor(Isa isa) {
    return detail::pickKernel<SumFn>(isa, detail::shiftedSumPortable, detail::shiftedSumAvx2,
                                     detail::avx512Kernels().shiftedSum);
}
// Rows shorter than two vectors of 16 (ResNet's 4x4 stage, LeNet-5's last rows) dot faster with the AVX2
// loop on AVX-512 CPUs: measured natively on AMD Zen 5, 460 taps over 22 outputs took 0.6 us with it
// and 0.9 us with 16 lanes (a whole-register sum per tap for one vector and a masked tail).
DotsFn dotsFor(Isa isa, int64_t length) {
    if (isa == Isa::Avx512 && length < 32) isa = Isa::Avx2;
    return detail::pickKernel<DotsFn>(isa, detail::shiftedDotsPortable, detail::shiftedDotsAvx2,
                                      detail::avx512Kernels().shiftedDots);
}

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
    const Stacking stacking = stackFor(g);
    const int64_t stack = stacking.stack;
    const std::vector<int32_t> offsets = tapOffsets(layer, g, stack);
    const int64_t Wq = g.planeW(), plane = g.planeH() * Wq, outH = g.outH(), outW = g.outW();
    const int64_t stackedSize = g.channels * g.phasesH() * g.phasesW() * stack * plane;
    const int64_t wide = (outH - 1) * Wq + outW; // output pixels computed per channel, dropped columns included
    const SumFn sum = sumFor(isa);

    const int useThreads = threadsFor(threads, g.batch * layer.rows * layer.k * wide);
    // Blocks of images are the natural parts; few blocks (inference) also split the output channels.
    const int64_t blocks = stacking.blocks;
    const int64_t rowBlocks =
        std::min<int64_t>(layer.rows, std::max<int64_t>(1, (4 * useThreads + blocks - 1) / blocks));
    const int parts = static_cast<int>(blocks * rowBlocks);
    detail::runParallel(parts, useThreads, [&](int part) {
        const auto [n0, n1] = detail::partRange(g.batch, static_cast<int>(blocks), static_cast<int>(part / rowBlocks), 1);
        const auto [r0, r1] =
            detail::partRange(layer.rows, static_cast<int>(rowBlocks), static_cast<int>(part % rowBlocks), 1);
        const int64_t count = n1 - n0;
        const float* images =
            phaseImages(g, x, n0, count, stack,
                        detail::threadScratch<kPhaseInput>(static_cast<size_t>(stackedSize + g.planeTail())));
        // One pass covers the block: image i's outputs start at i * plane (the rows between are dropped).
        const int64_t length = (count - 1) * plane + wide;
        float* row = detail::threadScratch<kWideRow>(static_cast<size_t>(length));
        for (int64_t r = r0; r < r1; ++r) {
            sum(images, offsets.data() + r * layer.k, layer.values + r * layer.k, layer.k, length,
                layer.bias ? layer.bias[r] : 0.0f, row);
            for (int64_t i = 0; i < count; ++i) {
                float* out = y + ((n0 + i) * layer.rows + r) * outH * outW;
                for (int64_t oy = 0; oy < outH; ++oy) copyFloats(row + i * plane + oy * Wq, outW, out + oy * outW);
            }
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
    // Groups of images are the parts and fix grad_values' order of summation; within a group, blocks of
    // at most `stack` images are stacked as in the forward.
    const Stacking stacking = stackFor(g, kMaxGroups);
    const int64_t stack = stacking.stack, groups = stacking.blocks;
    const std::vector<int32_t> offsets = tapOffsets(layer, g, stack);
    const int64_t s = g.stride, pH = g.phasesH(), pW = g.phasesW(), Wq = g.planeW(), plane = g.planeH() * Wq;
    const int64_t stackedPlane = stack * plane;
    const int64_t planes = g.channels * pH * pW, outH = g.outH(), outW = g.outW();
    const int64_t wide = (outH - 1) * Wq + outW;
    // The output gradient is laid out like the forward's output (rows of Wq, image i of a block at
    // i * plane) with a zero border of `lead` floats before each channel, so that grad_input's shifted
    // reads (q - dy / s * Wq - dx / s) never leave it: [rows][lead + stack * plane]. A read that crosses
    // into the previous image lands on that image's rows below its outputs, which are zero.
    const int64_t lead = (g.kernelH - 1) / s * Wq + (g.kernelW - 1) / s, bordered = lead + stackedPlane;

    // The transposed layer for grad_input: per phase plane, the taps that read it, with the offset of the
    // output gradient each one reads and its weight (a counting sort by plane).
    std::vector<int64_t> start(static_cast<size_t>(planes + 1), 0);
    std::vector<int32_t> backOffset;
    std::vector<float> backValue;
    if (gx) {
        const int64_t nnz = layer.rows * layer.k;
        for (int64_t e = 0; e < nnz; ++e)
            ++start[static_cast<size_t>(offsets[static_cast<size_t>(e)] / stackedPlane + 1)];
        for (int64_t p = 0; p < planes; ++p) start[static_cast<size_t>(p + 1)] += start[static_cast<size_t>(p)];
        std::vector<int64_t> fill(start.begin(), start.end() - 1);
        backOffset.resize(static_cast<size_t>(nnz));
        backValue.resize(static_cast<size_t>(nnz));
        for (int64_t e = 0; e < nnz; ++e) {
            const int64_t offset = offsets[static_cast<size_t>(e)], p = offset / stackedPlane;
            const int64_t shift = offset % stackedPlane;
            const auto at = static_cast<size_t>(fill[static_cast<size_t>(p)]++);
            backOffset[at] = static_cast<int32_t>(e / layer.k * bordered + lead - shift);
            backValue[at] = layer.values[e];
        }
    }
    // Image pixels no tap reads (the phases a kernel smaller than the stride skips) get a zero gradient.
    const bool phasesCover = pH == s && pW == s;

    const SumFn sum = sumFor(isa);
    std::vector<float> partial(gv ? static_cast<size_t>(groups * layer.rows * layer.k) : 0, 0.0f);
    const int useThreads = threadsFor(threads, g.batch * layer.rows * layer.k * wide * (gx && gv ? 2 : 1));
    detail::runParallel(static_cast<int>(groups), useThreads, [&](int group) {
        const auto [g0, g1] = detail::partRange(g.batch, static_cast<int>(groups), group, 1);
        float* border = detail::threadScratch<kBorderedGrad>(static_cast<size_t>(layer.rows * bordered));
        float* phased = detail::threadScratch<kPhaseInput>(static_cast<size_t>(planes * stackedPlane + g.planeTail()));
        float* row = detail::threadScratch<kWideRow>(static_cast<size_t>(stackedPlane));
        float* acc = gv ? partial.data() + group * layer.rows * layer.k : nullptr;
        for (int64_t n = g0; n < g1; n += stack) {
            const int64_t count = std::min(stack, g1 - n);
            std::memset(border, 0, sizeof(float) * static_cast<size_t>(layer.rows * bordered));
            for (int64_t r = 0; r < layer.rows; ++r)
                for (int64_t i = 0; i < count; ++i)
                    for (int64_t oy = 0; oy < outH; ++oy)
                        copyFloats(gy + (((n + i) * layer.rows + r) * outH + oy) * outW, outW,
                                   border + r * bordered + lead + i * plane + oy * Wq);
            if (gx) {
                for (int64_t c = 0; c < g.channels; ++c) {
                    bool complete = phasesCover;
                    for (int64_t p = c * pH * pW; p < (c + 1) * pH * pW && complete; ++p)
                        complete = start[static_cast<size_t>(p + 1)] > start[static_cast<size_t>(p)];
                    if (!complete)
                        for (int64_t i = 0; i < count; ++i)
                            std::memset(gx + ((n + i) * g.channels + c) * g.height * g.width, 0,
                                        sizeof(float) * static_cast<size_t>(g.height * g.width));
                    for (int64_t a = 0; a < pH; ++a) {
                        const auto [i0, i1] = imageSpan(a, s, g.padding, g.height);
                        for (int64_t b = 0; b < pW; ++b) {
                            const auto [j0, j1] = imageSpan(b, s, g.padding, g.width);
                            const int64_t p = (c * pH + a) * pW + b, s0 = start[static_cast<size_t>(p)];
                            const int64_t tapCount = start[static_cast<size_t>(p + 1)] - s0;
                            if (tapCount == 0 || i1 < i0 || j1 < j0) continue;
                            // Only the plane's image pixels (rows i0..i1, columns j0..j1, wide like the
                            // forward's) of every image in the block, in one pass.
                            const int64_t first = i0 * Wq + j0;
                            const int64_t length = (count - 1) * plane + (i1 - i0) * Wq + j1 - j0 + 1;
                            sum(border + first, backOffset.data() + s0, backValue.data() + s0, tapCount, length, 0.0f,
                                row);
                            for (int64_t img = 0; img < count; ++img) {
                                float* out = gx + ((n + img) * g.channels + c) * g.height * g.width;
                                for (int64_t i = i0; i <= i1; ++i) {
                                    const float* from = row + img * plane + (i - i0) * Wq;
                                    float* to = out + (s * i + a - g.padding) * g.width + s * j0 + b - g.padding;
                                    if (s == 1) {
                                        copyFloats(from, j1 - j0 + 1, to);
                                    } else {
                                        for (int64_t j = 0; j <= j1 - j0; ++j) to[j * s] = from[j];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if (gv) {
                const float* images = phaseImages(g, x, n, count, stack, phased);
                const int64_t length = (count - 1) * plane + wide;
                const DotsFn dots = dotsFor(isa, length);
                for (int64_t r = 0; r < layer.rows; ++r)
                    dots(border + r * bordered + lead, images, offsets.data() + r * layer.k, layer.k, length,
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
