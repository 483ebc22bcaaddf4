// The condensed-versus-dense benchmark of one layer (and of a whole condensed model against its
// dense twin): every variant is checked against dense, then timed side by side, medians after
// warm-up. Plain results, no printing: `srigl bench` and the Studio's timing panel present them.
#pragma once

#include "engine/inference/condensed_model.hpp"

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace srigl {

struct BenchSettings {
    std::string device = "cpu"; // "cpu" or "cuda"
    int threads = 0;            // condensed kernel threads; 0: the engine's
    int warmup = 3;
    int minReps = 11;
    int maxReps = 400;
    double targetSeconds = 0.25; // per variant and case, after warm-up
    kernels::Isa isa = kernels::detectIsa();
    double tolerance = 1e-5;     // max |y - dense| / max |dense| allowed before timing
    const std::atomic<bool>* cancel = nullptr;
};

// A layer as the trainer keeps it: dense weight, bool mask, bias.
struct MaskedLayer {
    std::string name;
    torch::Tensor weight, mask, bias;
};

// A random constant fan-in layer: k = round((1 - sparsity) * in) random inputs per neuron, and a
// fraction of neurons ablated (empty rows), weights N(0, 2/k) like the engine's sparse init.
MaskedLayer randomConstantFanInLayer(int64_t in, int64_t out, double sparsity, double ablatedFraction, uint64_t seed);

// What benching a synthetic in x out layer holds at the least, per entry of its dense [out, in] form
// (a lower bound: refused only when it surely cannot fit): making it (random keys, mask, weights) 13
// bytes; a training step's dense and masked-dense variants beside it (weights, gradients, momentum,
// the float mask) 37.
enum class LayerBenchKind { Inference, Training };
int64_t layerBenchBytesPerEntry(LayerBenchKind kind);
// Throws InferenceError before anything is allocated when that exceeds the memory this process has
// (engine/training/memory_estimate.hpp: MemAvailable and swap, within its cgroups): a layer whose dense
// form does not fit is timed by training it condensed (`srigl train`), not here, where the dense and
// masked-dense variants are the point. Nothing known about the memory: no check.
void requireLayerBenchFits(int64_t in, int64_t out, LayerBenchKind kind);

struct LayerTiming {
    std::string layer;
    int64_t inFeatures = 0, outFeatures = 0, rows = 0, k = 0, batch = 0;
    double sparsity = 0.0;
    // Medians in microseconds; NaN when the variant could not run (see csrNote).
    double denseUs = 0.0, csrUs = 0.0, structuredUs = 0.0, condensedUs = 0.0;
    double csrError = 0.0, structuredError = 0.0, condensedError = 0.0;
    int reps = 0;
    std::string csrNote;
    // On a GPU with our CUDA kernels: the variant condensedUs ran (the shape rule's choice) and each
    // forced variant's median, timed in the same rounds; empty / NaN elsewhere.
    std::string cudaKernel;
    double warpPerRowUs = 0.0, tiledUs = 0.0;
    double speedupVsDense() const { return denseUs / condensedUs; }
    double speedupVsCsr() const { return csrUs / condensedUs; }
};

// Throws InferenceError when a variant disagrees with dense beyond the tolerance (nothing is timed
// then) or the layer is not constant fan-in; BenchCancelled when settings.cancel was set.
LayerTiming benchLayer(const MaskedLayer& layer, int64_t batch, const BenchSettings& settings);

// A layer whose dense form does not fit (a checkpoint's layer kept in its training form, beyond what
// the readers expand: loadCheckpointModel's BeyondDense::KeepCondensed): its condensed kernels alone,
// checked first against LibTorch's gather on the same values and indices (CondensedLinear::reference,
// a few rows at a time, so that the check holds at most 64 MiB). The dense, CSR and structured times
// are NaN: their variants would need the dense form. Same throws as benchLayer.
LayerTiming benchCondensedOnly(const CondensedLinear& layer, int64_t batch, const BenchSettings& settings);

// A recorded model's classifier layer (those the condensed format covers), as `srigl bench --run` and
// the Studio's benchmark time it: its masked dense form, or `held` (the condensed form) when the layer
// is kept in its training form because its dense form does not fit (then `layer` has only its name
// and bias).
struct ModelLayerCase {
    MaskedLayer layer;
    std::shared_ptr<const CondensedLinear> held;
};
std::vector<ModelLayerCase> classifierBenchLayers(SparseModelImpl& model);
// benchLayer, or benchCondensedOnly for a held layer.
LayerTiming benchModelLayer(const ModelLayerCase& c, int64_t batch, const BenchSettings& settings);

struct ModelTiming {
    int64_t batch = 0;
    double denseUs = 0.0, condensedUs = 0.0, error = 0.0; // denseUs NaN when not timed
    int reps = 0;
};

// The whole model: its own (masked dense) forward against the condensed one, same inputs of `shape`.
// timeDense false (a model holding layers too large to expand, whose own forward runs those through
// the training kernels): its forward is run once, as the check, and only the condensed one is timed.
ModelTiming benchModel(const CondensedModel& condensed, const InputShape& shape, int64_t batch,
                       const BenchSettings& settings, bool timeDense = true);

class BenchCancelled : public std::runtime_error {
public:
    BenchCancelled() : std::runtime_error("benchmark cancelled") {}
};

// "AMD EPYC 7B13" from /proc/cpuinfo, printed with every result.
std::string cpuModelName();
// What a result was measured on: the CPU's model for "cpu", the GPU's name (and the CPU's) for "cuda".
std::string machineName(const std::string& device);
// The condensed kernel a result used: the instruction set on the CPU; on a GPU our CUDA kernels, or
// LibTorch's ops where the build has none.
std::string kernelDescription(const std::string& device, kernels::Isa isa);

} // namespace srigl
