// ResNet-18, CIFAR variant: 3x3 stem without max pooling, four stages of two basic blocks.
#pragma once

#include "engine/models/sparse_model.hpp"

#include <utility>

namespace srigl {

class BasicBlockImpl : public torch::nn::Module {
public:
    // height, width: the block's input image size (its convolutions' compute path depends on it).
    BasicBlockImpl(int64_t in, int64_t out, int64_t stride, int64_t height, int64_t width);
    torch::Tensor forward(const torch::Tensor& x);
    std::pair<int64_t, int64_t> outputSize() const { return {conv2->outputHeight(), conv2->outputWidth()}; }

private:
    SparseConv2d conv1{nullptr}, conv2{nullptr}, shortcutConv{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, shortcutBn{nullptr};
};
TORCH_MODULE(BasicBlock);

class ResNet18Impl : public SparseModelImpl {
public:
    explicit ResNet18Impl(const InputShape& input);
    torch::Tensor forward(torch::Tensor x) override;
    torch::Tensor features(torch::Tensor x) override;
    std::vector<SparseLinearImpl*> classifier() override { return {fc.get()}; }

private:
    SparseConv2d stem{nullptr};
    torch::nn::BatchNorm2d stemBn{nullptr};
    torch::nn::Sequential stages;
    SparseLinear fc{nullptr};
};

} // namespace srigl
