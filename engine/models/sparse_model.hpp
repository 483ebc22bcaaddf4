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
    // forward(x) == the classifier chain applied to features(x).
    virtual torch::Tensor forward(torch::Tensor x) = 0;
    // Condensed inference folds ablated neurons into the next layer, which needs to know what lies
    // between layers: the classifier is linear layers with a ReLU between each, fed by features(x).
    virtual torch::Tensor features(torch::Tensor x) = 0;
    virtual std::vector<SparseLinearImpl*> classifier() = 0;
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
// The model of a run: a built-in one by name, or model=torchscript's module from model_path (loaded,
// its layers chosen by sparse_layers, its input checked against `input`).
struct RunConfig;
std::shared_ptr<SparseModelImpl> buildModel(const RunConfig& config, const InputShape& input);
std::vector<std::string> modelNames();
// The input a dataset feeds a model: 1x28x28 for the MNIST-like sets and synthetic, 3x32x32 CIFAR.
InputShape inputShapeOf(const std::string& dataset);

} // namespace srigl
