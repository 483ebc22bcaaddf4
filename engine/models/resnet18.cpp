// ResNet-18 for 32x32 inputs (He et al. 2016, CIFAR variant as in the SRigL experiments).
// Convolutions carry no bias: batch norm follows each of them.
#include "engine/models/resnet18.hpp"

#include <tuple>

namespace srigl {

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t out, int64_t stride, int64_t height, int64_t width) {
    conv1 = register_module("conv1", SparseConv2d(in, out, 3, stride, 1, false));
    conv1->fedWith(height, width);
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(out));
    conv2 = register_module("conv2", SparseConv2d(out, out, 3, 1, 1, false));
    conv2->fedWith(conv1->outputHeight(), conv1->outputWidth());
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
    if (stride != 1 || in != out) {
        shortcutConv = register_module("shortcut", SparseConv2d(in, out, 1, stride, 0, false));
        shortcutConv->fedWith(height, width);
        shortcutBn = register_module("shortcut_bn", torch::nn::BatchNorm2d(out));
    }
}

// ReLU and the residual add work in place on batch norm's output (its backward needs only its input):
// two activations fewer per block than new tensors would take.
torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
    auto y = bn1->forward(conv1->forward(x)).relu_();
    y = bn2->forward(conv2->forward(y));
    auto skip = shortcutConv ? shortcutBn->forward(shortcutConv->forward(x)) : x;
    return y.add_(skip).relu_();
}

ResNet18Impl::ResNet18Impl(const InputShape& input) {
    stem = register_module("conv1", SparseConv2d(input.channels, 64, 3, 1, 1, false));
    stem->fedWith(input.height, input.width);
    stemBn = register_module("bn1", torch::nn::BatchNorm2d(64));
    int64_t in = 64;
    int64_t h = input.height, w = input.width;
    const int64_t widths[] = {64, 128, 256, 512};
    for (int stage = 0; stage < 4; ++stage) {
        const int64_t stride = stage == 0 ? 1 : 2;
        BasicBlock first(in, widths[stage], stride, h, w);
        stages->push_back(first);
        std::tie(h, w) = first->outputSize();
        stages->push_back(BasicBlock(widths[stage], widths[stage], 1, h, w));
        in = widths[stage];
    }
    register_module("layers", stages);
    fc = register_module("fc", SparseLinear(512, input.numClasses));
}

torch::Tensor ResNet18Impl::features(torch::Tensor x) {
    x = stemBn->forward(stem->forward(x)).relu_();
    x = stages->forward(x);
    return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
}

torch::Tensor ResNet18Impl::forward(torch::Tensor x) { return fc->forward(features(x)); }

} // namespace srigl
