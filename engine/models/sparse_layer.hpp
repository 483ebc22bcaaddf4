// Sparse Linear and Conv2d: a dense weight plus a bool mask of the same shape. A neuron is an
// output row; the mask is viewed as [out, fan_in] (fan_in = in * kh * kw for convolutions).
#pragma once

#include "engine/models/condensed_weights.hpp"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace srigl {

// The part every sparse layer shares; the trainer and the mask updaters only see this.
class SparseLayer {
public:
    virtual ~SparseLayer() = default;
    // Whether the layer can train on the condensed kernels: a layer of a TorchScript module cannot,
    // as the module's own code computes with its weight (engine/models/scripted_layer.hpp).
    virtual bool condensable() const { return true; }

    torch::Tensor weight;
    torch::Tensor bias; // may be undefined
    torch::Tensor mask; // bool, same shape as weight
    // N:M methods (nm_ste, srste, nm_transposable) keep the weight dense and mask it in the forward
    // pass with a straight-through estimator; every other method keeps W == W * M instead.
    bool straightThrough = false;
    // method=trainable_threshold: one threshold per output row (a parameter the trainer registers);
    // when defined, the forward pass computes with W * step(|W| - t) (engine/sparsity/trainable_threshold).
    torch::Tensor threshold;

    // The weight's shape, also while the layer is condensed (when `weight` itself is empty).
    const std::vector<int64_t>& weightShape() const { return shape_; }
    int64_t outFeatures() const { return shape_[0]; }
    int64_t fanIn() const;
    // Views of the dense weight and mask; only while the layer is not condensed.
    torch::Tensor weightMatrix() const { return weight.view({weight.size(0), -1}); }
    torch::Tensor maskMatrix() const { return mask.view({mask.size(0), -1}); }

    // Condensed training (engine/models/condensed_weights.hpp): set while the layer trains on values
    // and indices instead of the dense weight and mask, which are then empty tensors.
    std::shared_ptr<CondensedWeights> condensed;
    bool isCondensed() const { return condensed != nullptr; }
    // Gives a layer built under DeferredWeights its dense weight (uninitialised) and an all-true mask.
    void allocateDense();
    // Switches to the condensed form (the mask must be constant fan-in per active row) and frees the
    // dense weight and mask; expand() restores them.
    void condense();
    void expand();
    // Takes a condensed form built without a dense one (a layer made under DeferredWeights whose dense
    // form may not even fit in memory); the dense weight and mask stay empty.
    void adoptCondensed(std::shared_ptr<CondensedWeights> form);
    // The dense [out, fan_in] weight and mask in either form (a copy when condensed).
    torch::Tensor denseWeightMatrix() const;
    torch::Tensor denseMaskMatrix() const;
    // The weight the layer computes with: W * M, whose gradient reaches every entry of the dense W
    // when straightThrough is set; the stored W otherwise (it is W * M already).
    torch::Tensor forwardWeight() const;

    // Re-applies the mask to the weight (W *= M). Cheap; called after every optimizer step.
    void applyMask();
    // The mask as a float tensor for multiplications; refreshed by setMask.
    const torch::Tensor& maskFactor() const { return maskFactor_; }
    void setMask(const torch::Tensor& newMask);
    // Rebuilds the float factor from `mask` (after a device move or a checkpoint load).
    void syncMaskFactor();

protected:
    // The constructors' common part: `weight` and `mask` of this shape registered on `owner`, both
    // empty under DeferredWeights.
    void registerWeightAndMask(torch::nn::Module& owner, std::vector<int64_t> shape);

    torch::Tensor maskFactor_;
    std::vector<int64_t> shape_;
};

// While one of these lives on a thread, sparse layers built there register empty weights and masks
// (their shapes kept in weightShape()) instead of allocating and initialising [out, fan_in]: for
// planning a run (shapes only, cheap even for layers whose dense form would not fit in memory) and
// for the trainer, which allocates and initialises each layer itself.
class DeferredWeights {
public:
    DeferredWeights();
    ~DeferredWeights();
    DeferredWeights(const DeferredWeights&) = delete;
    DeferredWeights& operator=(const DeferredWeights&) = delete;
    static bool active();

private:
    bool previous_;
};

struct SparseLinearImpl : torch::nn::Module, SparseLayer {
    SparseLinearImpl(int64_t in, int64_t out, bool withBias = true);
    torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(SparseLinear);

struct SparseConv2dImpl : torch::nn::Module, SparseLayer {
    SparseConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
                     bool withBias = true);
    torch::Tensor forward(const torch::Tensor& x);

    int64_t stride;
    int64_t padding;
    // The image size the model feeds this layer (height, width), set by the model that builds it;
    // 0 where nobody said. `auto` decides from it whether the direct kernels pay (compute_path.hpp):
    // over small images they lose where dense convolutions win.
    int64_t inputHeight = 0;
    int64_t inputWidth = 0;
    SparseConv2dImpl& fedWith(int64_t height, int64_t width);
    // The output image of one input image (0 when the input size is unknown).
    int64_t outputHeight() const;
    int64_t outputWidth() const;
    int64_t outputPixels() const { return outputHeight() * outputWidth(); }
    // Set by a caller that needs what the convolution receives (N:M conversion refits a layer on
    // its inputs; LibTorch modules have no forward hooks): forward() then keeps a detached copy
    // of its input here. Off in training.
    bool captureInput = false;
    torch::Tensor capturedInput;
};
TORCH_MODULE(SparseConv2d);

} // namespace srigl
