// One Linear or Conv2d of a TorchScript module, made sparse: the weight IS the module's own weight
// tensor (one TensorImpl, so the scripted forward reads what the trainer writes), plus the mask
// every sparse layer has.
#pragma once

#include "engine/models/sparse_layer.hpp"

#include <torch/script.h>

#include <string>

namespace srigl {

class ScriptedLayerImpl : public torch::nn::Module, public SparseLayer {
public:
    // `owner` is the scripted submodule whose parameter `weight` (2-D or 4-D) becomes sparse; its
    // other parameters and buffers (bias, ...) are registered here under their own names.
    ScriptedLayerImpl(torch::jit::Module owner, std::string kind);

    bool condensable() const override { return false; }
    // "Linear", "Conv2d", or the class name of a module chosen by a sparse_layers pattern.
    const std::string& kind() const { return kind_; }

    // The straight-through N:M methods and trainable thresholds compute with a weight other than
    // the stored one (forwardWeight): the scripted module must read that one during a forward pass.
    void bindForwardWeight();
    void unbindForwardWeight();
    // Puts `w` in the module's weight slot (export of the masked weight), or the stored weight back
    // with an undefined tensor.
    void setScriptedWeight(const torch::Tensor& w);

private:
    torch::jit::Module owner_;
    std::string kind_;
    bool bound_ = false;
};

} // namespace srigl
