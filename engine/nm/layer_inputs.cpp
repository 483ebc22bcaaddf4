// Walks the autograd graph of one forward pass: a convolution's backward node keeps the input it
// needs for the weight gradient, and its next edge for the weight leads to that weight's gradient
// accumulator, which names the layer.
#include "engine/nm/layer_inputs.hpp"

#include <torch/csrc/autograd/functions/accumulate_grad.h>
#include <torch/csrc/autograd/generated/Functions.h>

#include <unordered_map>
#include <unordered_set>

namespace srigl::nm {

namespace {

// Restores what convolutionInputs changes on the layers, also when the forward pass throws.
class LayerFlags {
public:
    explicit LayerFlags(const std::vector<SparseLayer*>& layers) : layers_(layers) {
        for (auto* l : layers_) {
            requiresGrad_.push_back(l->weight.requires_grad());
            straightThrough_.push_back(l->straightThrough);
            // W == W * M during conversion, and the straight-through form would put an addition
            // between the weight and the convolution.
            l->straightThrough = false;
            l->weight.requires_grad_(true);
        }
    }
    ~LayerFlags() {
        for (size_t i = 0; i < layers_.size(); ++i) {
            layers_[i]->weight.requires_grad_(requiresGrad_[i]);
            layers_[i]->straightThrough = straightThrough_[i];
        }
    }
    LayerFlags(const LayerFlags&) = delete;
    LayerFlags& operator=(const LayerFlags&) = delete;

private:
    std::vector<SparseLayer*> layers_;
    std::vector<bool> requiresGrad_, straightThrough_;
};

} // namespace

std::vector<torch::Tensor> convolutionInputs(SparseModelImpl& model, const torch::Tensor& batch,
                                             const std::vector<SparseLayer*>& layers) {
    using torch::autograd::AccumulateGrad;
    using torch::autograd::Node;
    using torch::autograd::generated::ConvolutionBackward0;
    std::vector<torch::Tensor> inputs(layers.size());
    std::unordered_map<const c10::TensorImpl*, size_t> slot;
    std::vector<SparseLayer*> convs;
    for (size_t i = 0; i < layers.size(); ++i) {
        if (dynamic_cast<SparseConv2dImpl*>(layers[i]) == nullptr) continue;
        slot[layers[i]->weight.unsafeGetTensorImpl()] = i;
        convs.push_back(layers[i]);
    }
    if (convs.empty()) return inputs;

    torch::Tensor output;
    {
        LayerFlags flags(convs);
        torch::AutoGradMode enable(true);
        output = model.forward(batch.detach());
    }
    if (!output.grad_fn()) return inputs;
    std::vector<Node*> stack = {output.grad_fn().get()};
    std::unordered_set<Node*> seen = {stack.back()};
    while (!stack.empty()) {
        Node* node = stack.back();
        stack.pop_back();
        if (auto* conv = dynamic_cast<ConvolutionBackward0*>(node)) {
            // Edges follow the op's differentiable inputs: (input, weight, bias).
            const auto& edges = node->next_edges();
            if (edges.size() >= 2) {
                if (auto* acc = dynamic_cast<AccumulateGrad*>(edges[1].function.get())) {
                    auto it = slot.find(acc->variable.unsafeGetTensorImpl());
                    if (it != slot.end()) inputs[it->second] = conv->input_.unpack().detach();
                }
            }
        }
        for (const auto& edge : node->next_edges()) {
            Node* next = edge.function.get();
            if (next && seen.insert(next).second) stack.push_back(next);
        }
    }
    return inputs;
}

} // namespace srigl::nm
