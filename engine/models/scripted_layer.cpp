// A sparse layer over a scripted module's own tensors.
#include "engine/models/scripted_layer.hpp"

#include "engine/errors.hpp"

namespace srigl {

ScriptedLayerImpl::ScriptedLayerImpl(torch::jit::Module owner, std::string kind)
    : owner_(std::move(owner)), kind_(std::move(kind)) {
    for (const auto& p : owner_.named_parameters(/*recurse=*/false)) {
        // register_parameter keeps the very tensor: the scripted module and the trainer share it, and
        // set_data / copy_ (device moves, checkpoint loads) reach both.
        torch::Tensor t = register_parameter(p.name, p.value, /*requires_grad=*/true);
        if (p.name == "weight") weight = t;
        if (p.name == "bias") bias = t;
    }
    for (const auto& b : owner_.named_buffers(/*recurse=*/false)) {
        if (b.name == "mask") throw ConfigError("model_path", "layer with a buffer named 'mask' (the name SRigL Studio gives its masks)");
        register_buffer(b.name, b.value);
    }
    if (!weight.defined() || (weight.dim() != 2 && weight.dim() != 4))
        throw ConfigError("sparse_layers", "a " + kind_ + " without a 2-D or 4-D parameter named weight cannot be made sparse");
    {
        torch::NoGradGuard noGrad;
        // A scripted weight may be a view or share storage with another tensor of the module; the
        // trainer writes it in place, so it gets storage of its own (set_data keeps the TensorImpl).
        weight.set_data(weight.detach().contiguous().clone());
    }
    shape_ = weight.sizes().vec();
    mask = register_buffer("mask", torch::ones(shape_, torch::kBool));
    maskFactor_ = torch::ones_like(weight);
}

void ScriptedLayerImpl::bindForwardWeight() {
    torch::Tensor w = forwardWeight();
    if (w.unsafeGetTensorImpl() == weight.unsafeGetTensorImpl()) return;
    owner_.setattr("weight", w);
    bound_ = true;
}

void ScriptedLayerImpl::unbindForwardWeight() {
    if (!bound_) return;
    owner_.setattr("weight", weight);
    bound_ = false;
}

void ScriptedLayerImpl::setScriptedWeight(const torch::Tensor& w) { owner_.setattr("weight", w.defined() ? w : weight); }

} // namespace srigl
