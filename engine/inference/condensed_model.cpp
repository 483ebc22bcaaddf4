// Condensing a whole model's classifier, with ablated neurons folded across layers.
#include "engine/inference/condensed_model.hpp"

#include "engine/errors.hpp"

namespace srigl {

void foldAblatedInputs(const CondensedLinear& producer, const torch::Tensor& producerBias, CondensedLinear& consumer) {
    torch::NoGradGuard noGrad;
    if (consumer.inFeatures != producer.outFeatures)
        throw InferenceError("layer " + consumer.name + " reads " + std::to_string(consumer.inFeatures) +
                             " inputs but layer " + producer.name + " has " + std::to_string(producer.outFeatures) +
                             " neurons");
    // newIndex[i]: the position of original neuron i among the producer's rows, or -1 if ablated.
    std::vector<int64_t> newIndex(static_cast<size_t>(producer.outFeatures), -1);
    for (size_t r = 0; r < producer.rowIds.size(); ++r) newIndex[static_cast<size_t>(producer.rowIds[r])] = static_cast<int64_t>(r);
    torch::Tensor constant = torch::relu(producerBias.to(torch::kCPU, torch::kFloat)).contiguous();
    const float* c = constant.data_ptr<float>();

    torch::Tensor idx = consumer.indices.to(torch::kLong).contiguous();
    torch::Tensor val = consumer.values.contiguous().clone();
    torch::Tensor bias = consumer.bias.contiguous().clone();
    int64_t* ip = idx.data_ptr<int64_t>();
    float* vp = val.data_ptr<float>();
    float* bp = bias.data_ptr<float>();
    const int64_t rows = consumer.rows(), k = consumer.k;
    for (int64_t r = 0; r < rows; ++r) {
        double folded = 0.0;
        for (int64_t j = 0; j < k; ++j) {
            const int64_t from = ip[r * k + j];
            const int64_t to = newIndex[static_cast<size_t>(from)];
            if (to >= 0) {
                ip[r * k + j] = to;
            } else {
                folded += static_cast<double>(vp[r * k + j]) * c[from];
                vp[r * k + j] = 0.0f;
                ip[r * k + j] = 0;
            }
        }
        bp[r] += static_cast<float>(folded);
    }
    consumer.inFeatures = producer.rows();
    consumer.values = val;
    consumer.bias = bias;
    consumer.indices = idx.to(consumer.inFeatures <= 32768 ? torch::kShort : torch::kInt);
}

CondensedModel::CondensedModel(std::shared_ptr<SparseModelImpl> model) : model_(std::move(model)) {
    torch::NoGradGuard noGrad;
    const auto chain = model_->classifier();
    if (chain.empty()) throw InferenceError("the model has no linear classifier to condense");
    std::vector<std::string> names(chain.size());
    for (const auto& named : model_->sparseLayers())
        for (size_t i = 0; i < chain.size(); ++i)
            if (named.layer == static_cast<SparseLayer*>(chain[i])) names[i] = named.name;
    // A layer read from a checkpoint may still be in its training form (too large to expand).
    auto condense = [&](size_t i, bool keepAblated) {
        const SparseLinearImpl& l = *chain[i];
        return l.isCondensed() ? condenseLinear(*l.condensed, l.bias, names[i], keepAblated)
                               : condenseLinear(l.weight, l.mask, l.bias, names[i], keepAblated);
    };
    for (size_t i = 0; i < chain.size(); ++i) {
        const bool last = i + 1 == chain.size();
        // The last layer's neurons are the model's outputs: an ablated one still yields its bias.
        CondensedLinear layer = condense(i, last);
        // A hidden layer with every neuron ablated keeps one zero row so that the next has an input.
        if (!last && layer.rows() == 0) layer = condense(i, true);
        if (i > 0) {
            const torch::Tensor producerBias =
                chain[i - 1]->bias.defined() ? chain[i - 1]->bias : torch::zeros({chain[i - 1]->outFeatures()});
            foldAblatedInputs(layers_.back(), producerBias, layer);
        }
        removed_ += layer.outFeatures - layer.rows();
        layers_.push_back(std::move(layer));
    }
}

torch::Tensor CondensedModel::classify(const torch::Tensor& features, kernels::Isa isa, int threads) const {
    torch::Tensor x = features;
    for (size_t i = 0; i < layers_.size(); ++i) {
        x = layers_[i].forward(x, isa, threads);
        if (i + 1 < layers_.size()) x = torch::relu_(x);
    }
    return x;
}

torch::Tensor CondensedModel::forward(const torch::Tensor& x, kernels::Isa isa, int threads) const {
    torch::NoGradGuard noGrad;
    return classify(model_->features(x), isa, threads);
}

torch::Tensor CondensedModel::forward(const torch::Tensor& x) const { return forward(x, kernels::detectIsa(), 0); }

} // namespace srigl
