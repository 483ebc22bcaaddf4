// LeNet-5: two 5x5 convolutions with max pooling, then three fully connected layers.
#pragma once

#include "engine/models/sparse_model.hpp"

namespace srigl {

class LeNet5Impl : public SparseModelImpl {
public:
    explicit LeNet5Impl(const InputShape& input);
    torch::Tensor forward(torch::Tensor x) override;
    torch::Tensor features(torch::Tensor x) override;
    std::vector<SparseLinearImpl*> classifier() override { return {fc1.get(), fc2.get(), fc3.get()}; }

private:
    SparseConv2d conv1{nullptr}, conv2{nullptr};
    SparseLinear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

} // namespace srigl
