// SGD (momentum, Nesterov, weight decay) and AdamW with optimizer state that can be masked.
// Our own small implementations: the trainer must reach and mask every state tensor, and
// LibTorch's optimizer state layout differs between 1.13 and 2.x.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace srigl {

struct OptimizerSettings {
    std::string kind = "sgd"; // sgd | adamw
    double momentum = 0.9;
    bool nesterov = true;
    double weightDecay = 5e-4;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
};

struct RunConfig;
// The optimizer keys of a run's config (optimizer, momentum, nesterov, weight_decay, beta1/2, adam_eps).
OptimizerSettings optimizerSettingsFor(const RunConfig& config);

class Optimizer {
public:
    Optimizer(std::vector<torch::Tensor> params, OptimizerSettings settings);

    void zeroGrad();
    void step(double lr);
    // Zeroes the state of parameter `index` where mask is false (grown connections start fresh,
    // dropped ones forget their momentum).
    void maskState(size_t index, const torch::Tensor& maskFactor);
    // Swaps parameter `index` for `param` (another layout of the same weights, e.g. condensed values)
    // and converts each state tensor with `convert` (old layout -> new), so the optimizer keeps its
    // history across a change of layout or of mask.
    void replaceParameter(size_t index, const torch::Tensor& param,
                          const std::function<torch::Tensor(const torch::Tensor&)>& convert);
    // Writes the state of parameter i as exportState(i, tensor) (nullptr: as held), so that a
    // checkpoint stores one layout whichever the run trained in.
    using StateExport = std::function<torch::Tensor(size_t, const torch::Tensor&)>;
    const std::vector<torch::Tensor>& params() const { return params_; }
    int64_t stepCount() const { return steps_; }
    // All state tensors of one parameter (momentum; or exp_avg and exp_avg_sq); for tests.
    std::vector<torch::Tensor> state(size_t index) const;

    void save(torch::serialize::OutputArchive& archive, const StateExport& exportState = nullptr) const;
    void load(torch::serialize::InputArchive& archive);

private:
    std::vector<torch::Tensor> params_;
    OptimizerSettings settings_;
    std::vector<torch::Tensor> first_;  // SGD momentum buffer / Adam exp_avg
    std::vector<torch::Tensor> second_; // Adam exp_avg_sq
    int64_t steps_ = 0;
};

} // namespace srigl
