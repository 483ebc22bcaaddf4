// A trained sparse model with its classifier condensed: every linear layer of the classifier as
// values + indices, ablated neurons removed and their constant outputs folded into the next layer.
#pragma once

#include "engine/inference/condensed_linear.hpp"
#include "engine/models/sparse_model.hpp"

#include <memory>
#include <vector>

namespace srigl {

class CondensedModel {
public:
    // Condenses model->classifier(); the feature extractor (convolutions of a CNN) stays the model's
    // own. Throws InferenceError when a classifier layer is not constant fan-in.
    explicit CondensedModel(std::shared_ptr<SparseModelImpl> model);

    // The masked model's output (in eval mode) computed by the condensed layers.
    torch::Tensor forward(const torch::Tensor& x) const;
    torch::Tensor forward(const torch::Tensor& x, kernels::Isa isa, int threads) const;
    // The condensed classifier alone, from the features.
    torch::Tensor classify(const torch::Tensor& features, kernels::Isa isa, int threads) const;

    const std::vector<CondensedLinear>& layers() const { return layers_; }
    SparseModelImpl& model() const { return *model_; }
    int64_t removedNeurons() const { return removed_; }

private:
    std::shared_ptr<SparseModelImpl> model_;
    std::vector<CondensedLinear> layers_;
    int64_t removed_ = 0;
};

// Folds the ablated neurons of `producer` (absent from its rows) into `consumer`, which reads the
// producer's original outputs through a ReLU: each ablated neuron outputs the constant relu(bias),
// so its weighted contribution moves into the consumer's bias and the consumer's inputs are renumbered
// to the producer's stored rows. Entries that read an ablated neuron become zero weights reading
// input 0, which keeps the consumer's fan-in constant.
void foldAblatedInputs(const CondensedLinear& producer, const torch::Tensor& producerBias, CondensedLinear& consumer);

} // namespace srigl
