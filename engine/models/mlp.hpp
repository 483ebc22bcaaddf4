// Multi-layer perceptron; LeNet-300-100 with the default hidden sizes.
#pragma once

#include "engine/models/sparse_model.hpp"

namespace srigl {

class MlpImpl : public SparseModelImpl {
public:
    MlpImpl(const InputShape& input, const std::vector<int64_t>& hidden);
    torch::Tensor forward(torch::Tensor x) override;
    torch::Tensor features(torch::Tensor x) override { return x.flatten(1); }
    std::vector<SparseLinearImpl*> classifier() override;

private:
    std::vector<SparseLinear> layers_;
};

} // namespace srigl
