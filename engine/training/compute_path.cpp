// The per-layer choice between condensed and masked-dense training, and the rule behind `auto`.
#include "engine/training/compute_path.hpp"

namespace srigl {

bool condensedPays(const std::vector<int64_t>& shape, double density, int64_t batch, [[maybe_unused]] int64_t stride) {
    if (shape.size() == 4) {
        // The direct kernels (forward and backward of one layer, docs/benchmarks.md "Condensed
        // convolutions", Zen 3): they win wherever a row keeps few taps: LeNet-5's layers at every
        // density up to 50% (1.8-14x), ResNet-18's at 10% (1.4-3.7x) and at 25% up to 288 taps per
        // row (1.3-2.1x), and layers of at most 32 taps per row at any density (a first layer over 1 or 3
        // channels: 1.2-12x up to 96%); with more taps per row the shifted sums over small images lose
        // (0.5x for 512 channels of 4x4 at 25%, 0.65x for 64 channels of 32x32 at 80%).
        // Strided layers (phase planes) fit the same rule: ResNet-18's stride-2 3x3 and 1x1 layers
        // win at 10% (1.5-4.2x) and at 25% up to 288 taps per row (1.5-2.7x; the 1x1 onto 4x4 outputs
        // breaks even, 0.9-1.04x), and lose with more taps over small outputs (0.6x for 256 -> 512 on
        // 8x8 at 25%, 0.5x for its 1x1 downsample at 50%).
        const double k = density * static_cast<double>(shape[1] * shape[2] * shape[3]);
        return density <= 0.1 || (density <= 0.25 && k <= 300) || (density <= 0.5 && k <= 100) || k <= 32;
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
    return condensedPays(layer.shape, layer.density, config.batch_size, layer.stride) ? "condensed" : "masked_dense";
}

} // namespace srigl
