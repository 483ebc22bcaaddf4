// The per-layer choice between condensed and masked-dense training, and the rule behind `auto`.
#include "engine/training/compute_path.hpp"

namespace srigl {

bool condensedPays(const std::vector<int64_t>& shape, double density, int64_t batch) {
    // Convolutions: im2col plus our kernels ran LeNet-5 at 0.29x of dense (docs/benchmarks.md).
    if (shape.size() != 2) return false;
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
    return condensedPays(layer.shape, layer.density, config.batch_size) ? "condensed" : "masked_dense";
}

} // namespace srigl
