// Wide ResNet (Zagoruyko & Komodakis 2016) for 32x32 inputs: WRN-22-2 as used in DST papers.
#pragma once

#include "engine/models/sparse_model.hpp"

#include <utility>

namespace srigl {

// Pre-activation block: BN-ReLU-conv3x3-BN-ReLU-conv3x3, 1x1 conv shortcut when the shape changes.
class WideBlockImpl : public torch::nn::Module {
public:
    // height, width: the block's input image size (its convolutions' compute path depends on it).
    WideBlockImpl(int64_t in, int64_t out, int64_t stride, int64_t height, int64_t width);
    torch::Tensor forward(const torch::Tensor& x);
    std::pair<int64_t, int64_t> outputSize() const { return {conv2->outputHeight(), conv2->outputWidth()}; }

private:
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
    SparseConv2d conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};
};
TORCH_MODULE(WideBlock);

class WideResNetImpl : public SparseModelImpl {
public:
    WideResNetImpl(const InputShape& input, int64_t depth, int64_t widen);
    torch::Tensor forward(torch::Tensor x) override;
    torch::Tensor features(torch::Tensor x) override;
    std::vector<SparseLinearImpl*> classifier() override { return {fc.get()}; }

private:
    SparseConv2d stem{nullptr};
    torch::nn::Sequential groups;
    torch::nn::BatchNorm2d bn{nullptr};
    SparseLinear fc{nullptr};
};

} // namespace srigl
