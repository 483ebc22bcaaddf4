// Timing of whole training steps (forward, backward, optimizer; mask-update steps apart) for dense,
// masked-dense and condensed training: one layer, or a whole model through the real trainer. The
// variants run round-robin in one process so their ratios share the machine's state. Plain results,
// no printing: `srigl bench --training` presents and stores them.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/inference/layer_bench.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

// One training step of one Linear layer on a fixed input and output gradient, SGD with momentum:
//   dense       the layer with every weight (what the dense twin costs),
//   maskedDense the dense weight times its mask: gradients masked, weights re-masked (our trainer's
//               masked_dense path),
//   condensed   values + indices through the condensed kernels (sparse_compute=condensed).
// Medians in microseconds. The three are checked against each other first (outputs and the values'
// gradients agree within settings.tolerance * 10, float sums of different order).
struct TrainingLayerTiming {
    int64_t inFeatures = 0, outFeatures = 0, k = 0, batch = 0;
    double sparsity = 0.0;
    double denseUs = 0.0, maskedDenseUs = 0.0, condensedUs = 0.0;
    int reps = 0;
};
// With `conv`, the layer is a Conv2d instead: the mask [out, channels * kernel^2] (unfold's order) over
// inputs [batch, channels, height, width] with that padding and stride; dense and masked-dense run
// LibTorch's convolution, condensed the direct kernels (condensedConv2d).
struct TrainingConvInput {
    int64_t channels = 0, height = 0, width = 0, kernel = 0, padding = 0, stride = 1;
};
TrainingLayerTiming benchTrainingLayer(const MaskedLayer& layer, int64_t batch, const BenchSettings& settings,
                                       const TrainingConvInput* conv = nullptr);

// A whole model trained by the trainer on `config` (its model, data, method, sparsity, batch): the
// same config as method=dense, as sparse_compute=masked_dense, as sparse_compute=condensed (srigl
// only; auto's choice where the method cannot condense) and as sparse_compute=auto (what a run does
// by default), in that order, `steps` timed steps each after warm-up; then each variant alone again,
// the others freed, for its peak RSS.
struct TrainingVariantTiming {
    std::string variant;   // dense | masked_dense | condensed | auto
    std::string compute;   // per layer: "fc1=condensed fc2=condensed fc3=dense"
    double stepMs = 0.0;   // median ordinary step
    double updateMs = 0.0; // median step with a mask update; NaN when none was timed
    int64_t stateBytes = 0; // parameters, gradients, optimizer state and masks held between steps
    // Peak resident memory of the process while this variant trained alone (its trainer built, the
    // others freed; VmHWM reset through /proc/self/clear_refs); -1 when it could not be measured.
    int64_t peakRssBytes = -1;
    int steps = 0, updates = 0;
};
struct TrainingModelTiming {
    std::string model; // "mlp 784-300-100", "lenet5", ...
    int64_t batch = 0;
    double sparsity = 0.0;
    std::vector<TrainingVariantTiming> variants;
    std::string peakRssNote; // why peakRssBytes is -1, when it is
};
TrainingModelTiming benchTrainingModel(const RunConfig& config, int steps, const BenchSettings& settings);

} // namespace srigl
