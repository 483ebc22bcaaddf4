// Sparse Linear and Conv2d. The forward pass uses the stored weight directly: the trainer keeps
// W == W * M at all times (masked gradients, masked optimizer state, W *= M after each step),
// except for the straight-through N:M methods (see forwardWeight).
#include "engine/models/sparse_layer.hpp"

#include "engine/sparsity/straight_through_mask.hpp"
#include "engine/sparsity/trainable_threshold.hpp"

#include <cmath>

namespace srigl {
namespace {

thread_local bool tDeferred = false;

std::vector<int64_t> outputShape(const torch::Tensor& x, int64_t outFeatures) {
    auto shape = x.sizes().vec();
    shape.back() = outFeatures;
    return shape;
}

} // namespace

DeferredWeights::DeferredWeights() : previous_(tDeferred) { tDeferred = true; }
DeferredWeights::~DeferredWeights() { tDeferred = previous_; }
bool DeferredWeights::active() { return tDeferred; }

void SparseLayer::registerWeightAndMask(torch::nn::Module& owner, std::vector<int64_t> shape) {
    shape_ = std::move(shape);
    if (DeferredWeights::active()) {
        weight = owner.register_parameter("weight", torch::empty({0}));
        mask = owner.register_buffer("mask", torch::empty({0}, torch::kBool));
        return;
    }
    weight = owner.register_parameter("weight", torch::empty(shape_));
    // Same default as torch.nn's Linear and Conv2d; sparse initialisation rescales the weight later.
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
    mask = owner.register_buffer("mask", torch::ones(shape_, torch::kBool));
    maskFactor_ = torch::ones_like(weight);
}

void SparseLayer::allocateDense() {
    if (weight.numel() > 0 || condensed) return;
    torch::NoGradGuard noGrad;
    weight.set_data(torch::empty(shape_, weight.options()));
    mask.set_data(torch::ones(shape_, mask.options()));
    syncMaskFactor();
}

void SparseLayer::applyMask() {
    if (condensed) return; // condensed values hold kept weights only
    torch::NoGradGuard noGrad;
    weight.mul_(maskFactor_);
}

torch::Tensor SparseLayer::forwardWeight() const {
    if (threshold.defined()) return thresholdMaskedWeight(weight, threshold);
    if (!straightThrough) return weight;
    // Straight-through estimator (SR-STE, docs/algorithms.md): the value is W * M, but the
    // gradient of the masked weight is applied to the dense W unchanged (see straight_through_mask).
    return straightThroughMask(weight, maskFactor_);
}

int64_t SparseLayer::fanIn() const {
    int64_t n = 1;
    for (size_t i = 1; i < shape_.size(); ++i) n *= shape_[i];
    return n;
}

void SparseLayer::condense() {
    if (condensed) return;
    torch::NoGradGuard noGrad;
    condensed = std::make_shared<CondensedWeights>(condenseLayer(weightMatrix(), maskMatrix()));
    // set_data keeps the registered tensors (module, checkpoints by name) while dropping their storage.
    weight.set_data(torch::empty({0}, weight.options()));
    mask.set_data(torch::empty({0}, mask.options()));
    maskFactor_ = torch::Tensor();
}

void SparseLayer::adoptCondensed(std::shared_ptr<CondensedWeights> form) {
    torch::NoGradGuard noGrad;
    condensed = std::move(form);
    weight.set_data(torch::empty({0}, weight.options()));
    mask.set_data(torch::empty({0}, mask.options()));
    maskFactor_ = torch::Tensor();
}

void SparseLayer::expand() {
    if (!condensed) return;
    torch::NoGradGuard noGrad;
    weight.set_data(expandCondensed(*condensed, condensed->values).view(shape_));
    mask.set_data(expandMask(*condensed).view(shape_));
    condensed.reset();
    syncMaskFactor();
}

torch::Tensor SparseLayer::denseWeightMatrix() const {
    if (condensed) return expandCondensed(*condensed, condensed->values);
    return weightMatrix().detach();
}

torch::Tensor SparseLayer::denseMaskMatrix() const {
    if (condensed) return expandMask(*condensed);
    return maskMatrix();
}

void SparseLayer::setMask(const torch::Tensor& newMask) {
    torch::NoGradGuard noGrad;
    mask.copy_(newMask.view(mask.sizes()));
    syncMaskFactor();
}

void SparseLayer::syncMaskFactor() {
    if (condensed) return;
    maskFactor_ = mask.to(weight.device(), weight.scalar_type());
}

SparseLinearImpl::SparseLinearImpl(int64_t in, int64_t out, bool withBias) {
    registerWeightAndMask(*this, {out, in});
    if (withBias) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(in));
        bias = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
    }
}

torch::Tensor SparseLinearImpl::forward(const torch::Tensor& x) {
    if (condensed) return condensedMatmul(condensed, x.reshape({-1, x.size(-1)}), bias).view(outputShape(x, shape_[0]));
    return torch::linear(x, forwardWeight(), bias);
}

SparseConv2dImpl::SparseConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride_, int64_t padding_,
                                   bool withBias)
    : stride(stride_), padding(padding_) {
    registerWeightAndMask(*this, {out, in, kernel, kernel});
    if (withBias) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(in * kernel * kernel));
        bias = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
    }
}

SparseConv2dImpl& SparseConv2dImpl::fedWith(int64_t height, int64_t width) {
    inputHeight = height;
    inputWidth = width;
    return *this;
}

namespace {

int64_t outputSize(int64_t input, int64_t padding, int64_t kernel, int64_t stride) {
    const int64_t span = input + 2 * padding - kernel;
    return input <= 0 || span < 0 ? 0 : span / stride + 1;
}

} // namespace

int64_t SparseConv2dImpl::outputHeight() const { return outputSize(inputHeight, padding, shape_[2], stride); }

int64_t SparseConv2dImpl::outputWidth() const { return outputSize(inputWidth, padding, shape_[3], stride); }

torch::Tensor SparseConv2dImpl::forward(const torch::Tensor& x) {
    if (captureInput) capturedInput = x.detach();
    if (condensed) {
        // Every stride through the direct kernels (stride > 1 on phase planes, condensed_conv.hpp).
        return condensedConvolution(condensed, x, bias, shape_[2], padding, stride);
    }
    return torch::conv2d(x, forwardWeight(), bias, {stride, stride}, {padding, padding});
}

} // namespace srigl
