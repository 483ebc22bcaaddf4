// A custom autograd node: backward returns the output gradient for W and nothing for the mask.
#include "engine/sparsity/straight_through_mask.hpp"

namespace srigl {

namespace {

struct StraightThroughMaskFunction : torch::autograd::Function<StraightThroughMaskFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& weight,
                                 const torch::Tensor& maskFactor) {
        return weight * maskFactor;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                   torch::autograd::variable_list gradOutputs) {
        return {gradOutputs[0], torch::Tensor()};
    }
};

} // namespace

torch::Tensor straightThroughMask(const torch::Tensor& weight, const torch::Tensor& maskFactor) {
    if (!torch::GradMode::is_enabled() || !weight.requires_grad()) return weight * maskFactor;
    return StraightThroughMaskFunction::apply(weight, maskFactor.detach());
}

} // namespace srigl
