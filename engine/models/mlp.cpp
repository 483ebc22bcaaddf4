// Multi-layer perceptron with ReLU between sparse linear layers.
#include "engine/models/mlp.hpp"

namespace srigl {

MlpImpl::MlpImpl(const InputShape& input, const std::vector<int64_t>& hidden) {
    int64_t in = input.channels * input.height * input.width;
    std::vector<int64_t> sizes = hidden;
    sizes.push_back(input.numClasses);
    for (size_t i = 0; i < sizes.size(); ++i) {
        layers_.push_back(register_module("fc" + std::to_string(i + 1), SparseLinear(in, sizes[i])));
        in = sizes[i];
    }
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
    x = x.flatten(1);
    for (size_t i = 0; i < layers_.size(); ++i) {
        x = layers_[i]->forward(x);
        if (i + 1 < layers_.size()) x = torch::relu(x);
    }
    return x;
}

std::vector<SparseLinearImpl*> MlpImpl::classifier() {
    std::vector<SparseLinearImpl*> out;
    for (auto& layer : layers_) out.push_back(layer.get());
    return out;
}

} // namespace srigl
