// The store's record of a config: the engine's version and this process's BLAS and thread count.
#include "sessions/session/run_description.hpp"

#include "engine/runtime/threading.hpp"
#include "engine/sparsity/trainable_threshold.hpp"

namespace srigl::sessions {

NewRun describeRun(const RunConfig& config) {
    NewRun nr;
    nr.name = config.name;
    nr.config = configToJson(config, -1);
    nr.engineVersion = SRIGL_VERSION;
    nr.device = config.device;
    const ThreadingInfo threading = currentThreading();
    nr.blas = threading.blas;
    nr.threads = threading.torchThreads;
    nr.method = config.method;
    nr.model = config.model;
    nr.dataset = config.dataset;
    nr.sparsity = config.method == "dense" ? 0.0 : config.sparsity;
    if (isTrainableThreshold(config.method)) nr.sparsity = config.tt_target_density > 0 ? 1.0 - config.tt_target_density : 0.0;
    return nr;
}

double reachedSparsity(const std::vector<LayerUpdateStats>& layers) {
    double zeros = 0.0, total = 0.0;
    for (const auto& l : layers) {
        const double size = static_cast<double>(l.outFeatures) * static_cast<double>(l.fanIn);
        zeros += l.sparsity * size;
        total += size;
    }
    return total > 0 ? zeros / total : 0.0;
}

} // namespace srigl::sessions
