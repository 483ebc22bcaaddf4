// The per-layer choice between condensed and masked-dense training, and the rule behind `auto`.
#include "engine/training/compute_path.hpp"

#include "engine/kernels/condensed_conv.hpp"

namespace srigl {

namespace {

// The density at or below which the direct convolution kernels beat LibTorch's dense convolution,
// by output pixels per image (one SGD step of each ResNet-18 layer, docs/benchmarks.md "Condensed
// convolutions" and "`auto`'s convolution rule on AMD Zen 5"). Each kept tap is a pass over the
// image: the fewer outputs a pass has, the more it costs per multiply-add, while the dense
// convolution's cost per multiply-add hardly changes with the image. Measured break-even, AMD Zen 5 (AVX-512, batch 32-64)
// / Zen 3 (AVX2, batch 64): 32x32 outputs 0.4 / above 0.5, 16x16 0.25-0.3 / about 0.45, 8x8
// 0.15-0.2 / 0.3-0.35, 4x4 0.1-0.13 / 0.15 (4x4 on Zen 5 with stacked images; Zen 3's was measured
// before them). The batch does not move them: LibTorch's convolutions seemed to slow down per image
// at batch 128, but that was page faults on tensors above 32 MiB, which the trainer's kept freed
// memory removes (engine/runtime/freed_memory.hpp; docs/benchmarks.md, "Batch 128 and the first
// stage").
//
// 4x4 outputs of a convolution whose borders the kernels share (ConvGeometry::sharedBorder: a 4x4
// image padded by 1 is 25 floats instead of 36) cost 1.35-1.45x less: break-even on AMD Zen 4 at
// batch 32 / 64 / 128 at 15.5 / 18.5 / 20% with the AVX-512 kernels and 13 / 17.5 / 19.5% with the
// AVX2 ones, both against LibTorch's AVX-512 convolution (docs/benchmarks.md, "Shared image
// borders"); Zen 5's 10-13% times that gain is 14-18%. 0.13 stays below all of them. The layout
// gains nothing measurable with 16-float vectors on 8x8 (a 78-output pass and a 71-output one are
// both five vectors), and 15-20% with the AVX2 kernels there, which stay at 0.25 (below Zen 4's
// 26-31%). A strided layer onto 4x4 reads phase planes that hold one border row and column each
// (25 floats for ResNet-18's 3x3 at stride 2): break-even on Zen 4 at 14 / 13% (AVX-512 / AVX2
// kernels, batch 32) and about 16% at 64 and 128, on Zen 5 12-15% (1.12-1.51x at 10%, stop 37): 0.11.
double convDensityThreshold(int64_t outputPixels, bool avx512, bool sharedBorder, int64_t stride) {
    if (outputPixels >= 1024) return avx512 ? 0.4 : 0.5;
    if (outputPixels >= 256) return avx512 ? 0.25 : 0.4;
    if (outputPixels >= 64) return avx512 ? 0.2 : 0.25;
    if (outputPixels >= 16) return sharedBorder ? 0.13 : stride > 1 ? 0.11 : avx512 ? 0.09 : 0.1;
    return 0.0; // smaller images (or an unknown size): only the few-taps clauses below
}

} // namespace

bool condensedPays(const LayerComputeQuery& layer, int64_t batch) {
    const auto& shape = layer.shape;
    const double density = layer.density;
    if (shape.size() == 4) {
        const double k = density * static_cast<double>(shape[1] * shape[2] * shape[3]);
        // Rows of at most 32 taps win at any density and image size: a first layer over 1 or 3
        // channels (2.5-12x: LibTorch's dense convolution is slow there), a 1x1 downsample kept at
        // 12% (1.3x on 4x4 outputs). Up to 100 taps at half density they win on images of 8x8
        // outputs and more (LeNet-5's conv2 at 50%: 1.7-1.8x; the 1x1 downsamples onto 8x8 and
        // 16x16: 1.2-2.1x), but not on 4x4 (0.86x at 75% on Zen 5).
        if (k <= 32) return true;
        if (density <= 0.5 && k <= 100 && layer.outputPixels >= 64) return true;
        kernels::ConvGeometry geometry;
        geometry.kernelH = shape[2];
        geometry.kernelW = shape[3];
        geometry.padding = layer.padding;
        geometry.stride = layer.stride;
        return density <= convDensityThreshold(layer.outputPixels, layer.avx512, geometry.sharedBorder(), layer.stride);
    }
    // Below a few dozen inputs per neuron the per-row overhead dominates.
    if (shape[1] < 64) return false;
    // One SGD step of Linear 3072 -> 768 on Zen 3 (docs/benchmarks.md, "Condensed training"): at 90%
    // and above condensed wins at every batch (1.6x at 256 up to 21x at batch 1); at 80% it wins up
    // to batch 128 (1.1x) and loses at 256 (0.87x).
    return density <= 0.12 || (density <= 0.25 && batch <= 128);
}

std::string computePathFor(const RunConfig& config, const LayerComputeQuery& layer) {
    if (layer.density >= 1.0) return "dense";
    if (!layer.constantFanIn || layer.nm || config.device != "cpu") return "masked_dense";
    if (config.sparse_compute == "condensed") return "condensed";
    if (config.sparse_compute == "masked_dense") return "masked_dense";
    return condensedPays(layer, config.batch_size) ? "condensed" : "masked_dense";
}

} // namespace srigl
