// One forward pass with the wanted convolutions capturing their inputs.
#include "engine/conversion/layer_inputs.hpp"

namespace srigl::nm {

namespace {

// Turns capturing on for the given convolutions and off again (the captured tensors released),
// also when the forward pass throws.
class Capture {
public:
    explicit Capture(std::vector<SparseConv2dImpl*> convs) : convs_(std::move(convs)) {
        for (auto* c : convs_) {
            c->capturedInput = torch::Tensor();
            c->captureInput = true;
        }
    }
    ~Capture() {
        for (auto* c : convs_) {
            c->captureInput = false;
            c->capturedInput = torch::Tensor();
        }
    }
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;

private:
    std::vector<SparseConv2dImpl*> convs_;
};

} // namespace

std::vector<torch::Tensor> convolutionInputs(SparseModelImpl& model, const torch::Tensor& batch,
                                             const std::vector<SparseLayer*>& layers) {
    std::vector<torch::Tensor> inputs(layers.size());
    std::vector<SparseConv2dImpl*> convs(layers.size(), nullptr);
    std::vector<SparseConv2dImpl*> wanted;
    for (size_t i = 0; i < layers.size(); ++i) {
        convs[i] = dynamic_cast<SparseConv2dImpl*>(layers[i]);
        if (convs[i]) wanted.push_back(convs[i]);
    }
    if (wanted.empty()) return inputs;
    Capture capture(wanted);
    torch::NoGradGuard noGrad;
    model.forward(batch.detach());
    for (size_t i = 0; i < layers.size(); ++i)
        if (convs[i]) inputs[i] = convs[i]->capturedInput;
    return inputs;
}

} // namespace srigl::nm
