// The per-layer choice between condensed and masked-dense training, and the rule behind `auto`.
#include "engine/training/compute_path.hpp"

namespace srigl {

bool condensedPays(const std::vector<int64_t>& shape, double density, int64_t batch) {
    (void)batch;
    if (shape.size() != 2) return false; // convolutions: im2col costs more than dense conv saves
    const int64_t fanIn = shape[1];
    // Below a few dozen inputs per neuron the kernels' per-row overhead dominates; above 25% density
    // the dense GEMM's efficiency wins (docs/benchmarks.md, "Condensed training").
    return fanIn >= 64 && density <= 0.25;
}

std::string computePathFor(const RunConfig& config, const LayerComputeQuery& layer) {
    if (layer.density >= 1.0) return "dense";
    if (!layer.constantFanIn || layer.nm || config.device != "cpu") return "masked_dense";
    if (config.sparse_compute == "condensed") return "condensed";
    if (config.sparse_compute == "masked_dense") return "masked_dense";
    return condensedPays(layer.shape, layer.density, config.batch_size) ? "condensed" : "masked_dense";
}

} // namespace srigl
