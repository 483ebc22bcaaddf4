// The base of every network the engine trains: a torch module that lists its sparse layers.
#pragma once

#include "engine/models/sparse_layer.hpp"

#include <string>
#include <vector>

namespace srigl {

struct NamedSparseLayer {
    std::string name;
    SparseLayer* layer;
};

class SparseModelImpl : public torch::nn::Module {
public:
    virtual torch::Tensor forward(torch::Tensor x) = 0;
    // Every SparseLinear / SparseConv2d in registration order: the first is the input layer,
    // the last the classifier.
    std::vector<NamedSparseLayer> sparseLayers();
};

struct InputShape {
    int64_t channels = 1;
    int64_t height = 28;
    int64_t width = 28;
    int64_t numClasses = 10;
};

// "mlp" (hidden sizes from `hidden`), "lenet5", "resnet18" (CIFAR variant, batch norm), "wrn22_2".
std::shared_ptr<SparseModelImpl> buildModel(const std::string& name, const std::string& hidden,
                                            const InputShape& input);
std::vector<std::string> modelNames();

} // namespace srigl
