// Direct condensed convolution for constant fan-in Conv2d layers (any stride): every output channel
// keeps k of the in * kh * kw taps, and the kernels read the input image in place instead of unfolding it.
//
// Why not im2col: unfolding copies each input pixel kh * kw times into a [batch * pixels, in * kh * kw]
// matrix (and folds the gradient back), which cost three times LibTorch's own convolution at LeNet-5's
// sizes (docs/benchmarks.md). Here a kept tap (c, dy, dx) of output channel o is one shifted read of
// channel c: on the input flattened row by row with padded width Wp, output pixel q = y * Wp + x reads
// position q + dy * Wp + dx. Computing every q in [0, (Hout - 1) * Wp + Wout) ("wide" rows: the last
// kw - 1 columns of each row are computed and dropped) makes each tap a contiguous multiply-add over the
// image, which vectorises without gathers. Where the border allows (ConvGeometry::sharedBorder), rows
// and images share their zero borders, so that fewer dropped outputs are computed. The backward uses
// the same shifted sums: grad_input is the transposed layer (per input channel, the taps that read it)
// over the zero-bordered output gradient, grad_values a dot per tap between the output gradient and
// the shifted input.
//
// Stride s > 1: the padded image is first split into phase planes, plane (a, b) holding the pixels
// (s * i + a, s * j + b) at (i, j). Tap (c, dy, dx) then reads plane (dy % s, dx % s) of channel c at
// (y + dy / s, x + dx / s): a stride-1 shifted read again, so the same contiguous loops serve every
// stride (stride 1 is the single plane that is the padded image). grad_input is computed per phase
// plane, which only the taps of that phase read, and woven back into the image.
//
// Small images (a pass shorter than 64 outputs: ResNet-18's 4x4 stage) are stacked: a block of images
// is laid out channel by channel, image after image ([channel][phase][image][row][column]), and each
// tap's pass runs over the whole block. Every image keeps its own zero border and dropped rows, so a
// shifted read never mixes two images' pixels into an output that is kept.
#pragma once

#include "engine/kernels/condensed_kernels.hpp"

#include <cstdint>

namespace srigl::kernels {

// Dilation 1, one group, the same zero padding on all four sides, the same stride along both axes.
struct ConvGeometry {
    int64_t batch = 0, channels = 0, height = 0, width = 0; // the input [batch, channels, height, width]
    int64_t kernelH = 0, kernelW = 0, padding = 0;
    int64_t stride = 1;

    int64_t paddedH() const { return height + 2 * padding; }
    int64_t paddedW() const { return width + 2 * padding; }
    int64_t outH() const { return (paddedH() - kernelH) / stride + 1; }
    int64_t outW() const { return (paddedW() - kernelW) / stride + 1; }
    int64_t taps() const { return channels * kernelH * kernelW; }
    // The phase planes per channel: rows and columns of phases that some tap reads (a 1x1 kernel at
    // stride 2 reads only phase (0, 0)), and each plane's rows and row pitch as laid out.
    int64_t phasesH() const { return kernelH < stride ? kernelH : stride; }
    int64_t phasesW() const { return kernelW < stride ? kernelW : stride; }
    int64_t planeH() const { return sharedBorder() ? height + padding : (paddedH() + stride - 1) / stride; }
    int64_t planeW() const { return sharedBorder() ? width + padding : (paddedW() + stride - 1) / stride; }
    // Stride 1 with a border no wider than the kernel less one, along both axes (ResNet's 3x3 with
    // padding 1, LeNet-5's 5x5 with padding 2): a row's right border is the next row's left one, and
    // an image's bottom border the next image's top one, so a row is laid out as padding zeros and its
    // width pixels, and an image as padding zero rows and its height rows. A 4x4 image padded by 1 then
    // takes 5 x 5 floats instead of 6 x 6, and every tap's pass over it is that much shorter. (Wider
    // borders, rare, keep the full layout: there a row's outputs would run into the next row's, which
    // is harmless only because such outputs read nothing but zeros.)
    bool sharedBorder() const { return stride == 1 && padding > 0 && padding <= kernelH - 1 && padding <= kernelW - 1; }
    // Zeros a shared-border layout reads past its last plane: the last image's bottom border (padding
    // rows and the first padding columns of the row after).
    int64_t planeTail() const { return sharedBorder() ? padding * planeW() + padding : 0; }
};

// The layer's indices address taps in unfold's order: c * kh * kw + dy * kw + dx, so layer.inFeatures
// must equal geometry.taps(); layer.rows is the number of output channels.

// y [batch, rows, outH, outW] = the convolution of x [batch, channels, height, width] (both contiguous),
// bias added when layer.bias is set. `threads` <= 0: the engine's count. Throws std::invalid_argument
// for an unsupported isa, a malformed view or geometry (sizes < 1, stride < 1, a kernel larger than the
// padded image, inFeatures != taps).
void condensedConvForward(const CondensedView& layer, const ConvGeometry& geometry, const float* x, float* y, Isa isa,
                          int threads = 0);

// From gy [batch, rows, outH, outW]: gx [batch, channels, height, width] (skipped when null) and gv
// [rows, k] (skipped when null; x is then read again). Threads never write the same element, and gv is
// summed over fixed groups of images in a fixed order, so results do not depend on the thread count.
void condensedConvBackward(const CondensedView& layer, const ConvGeometry& geometry, const float* x, const float* gy,
                           float* gx, float* gv, Isa isa, int threads = 0);

namespace detail {

// The two inner loops, per instruction set (condensed_conv.cpp: portable; condensed_conv_avx2.cpp: AVX2;
// condensed_conv_avx512.cpp: AVX-512).
//   shiftedSum: out[p] = init + sum_j v[j] * src[offset[j] + p] for p in [0, length).
//   shiftedDots: acc[j] += sum_p g[p] * src[offset[j] + p] for j in [0, k).
void shiftedSumPortable(const float* src, const int32_t* offset, const float* v, int64_t k, int64_t length, float init,
                        float* out);
void shiftedDotsPortable(const float* g, const float* src, const int32_t* offset, int64_t k, int64_t length,
                         float* acc);
void shiftedSumAvx2(const float* src, const int32_t* offset, const float* v, int64_t k, int64_t length, float init,
                    float* out);
void shiftedDotsAvx2(const float* g, const float* src, const int32_t* offset, int64_t k, int64_t length, float* acc);
void shiftedSumAvx512(const float* src, const int32_t* offset, const float* v, int64_t k, int64_t length, float init,
                      float* out);
void shiftedDotsAvx512(const float* g, const float* src, const int32_t* offset, int64_t k, int64_t length,
                       float* acc);

} // namespace detail

} // namespace srigl::kernels
