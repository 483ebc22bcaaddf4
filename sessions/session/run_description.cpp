// The store's record of a config: the engine's version and this process's BLAS and thread count.
#include "sessions/session/run_description.hpp"

#include "engine/runtime/threading.hpp"

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
    return nr;
}

} // namespace srigl::sessions
