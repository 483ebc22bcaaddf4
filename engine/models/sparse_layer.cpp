// Sparse Linear and Conv2d. The forward pass uses the stored weight directly: the trainer keeps
// W == W * M at all times (masked gradients, masked optimizer state, W *= M after each step),
// except for the straight-through N:M methods (see forwardWeight).
#include "engine/models/sparse_layer.hpp"

#include "engine/sparsity/straight_through_mask.hpp"

#include <cmath>

namespace srigl {

void SparseLayer::applyMask() {
    torch::NoGradGuard noGrad;
    weight.mul_(maskFactor_);
}

torch::Tensor SparseLayer::forwardWeight() const {
    if (!straightThrough) return weight;
    // Straight-through estimator (SR-STE, shared/spec/nm.md): the value is W * M, but the
    // gradient of the masked weight is applied to the dense W unchanged (see straight_through_mask).
    return straightThroughMask(weight, maskFactor_);
}

void SparseLayer::setMask(const torch::Tensor& newMask) {
    torch::NoGradGuard noGrad;
    mask.copy_(newMask.view(mask.sizes()));
    syncMaskFactor();
}

void SparseLayer::syncMaskFactor() {
    maskFactor_ = mask.to(weight.device(), weight.scalar_type());
}

SparseLinearImpl::SparseLinearImpl(int64_t in, int64_t out, bool withBias) {
    weight = register_parameter("weight", torch::empty({out, in}));
    // Same default as torch.nn.Linear; sparse initialisation rescales the weight later.
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
    if (withBias) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(in));
        bias = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
    }
    mask = register_buffer("mask", torch::ones({out, in}, torch::kBool));
    maskFactor_ = torch::ones_like(weight);
}

torch::Tensor SparseLinearImpl::forward(const torch::Tensor& x) {
    return torch::linear(x, forwardWeight(), bias);
}

SparseConv2dImpl::SparseConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride_, int64_t padding_,
                                   bool withBias)
    : stride(stride_), padding(padding_) {
    weight = register_parameter("weight", torch::empty({out, in, kernel, kernel}));
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
    if (withBias) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(in * kernel * kernel));
        bias = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
    }
    mask = register_buffer("mask", torch::ones({out, in, kernel, kernel}, torch::kBool));
    maskFactor_ = torch::ones_like(weight);
}

torch::Tensor SparseConv2dImpl::forward(const torch::Tensor& x) {
    if (captureInput) capturedInput = x.detach();
    return torch::conv2d(x, forwardWeight(), bias, {stride, stride}, {padding, padding});
}

} // namespace srigl
