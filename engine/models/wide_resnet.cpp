// Wide ResNet: depth 6n + 4, three groups of n pre-activation blocks at widths 16k, 32k, 64k.
#include "engine/models/wide_resnet.hpp"

#include "engine/errors.hpp"

#include <tuple>

namespace srigl {

WideBlockImpl::WideBlockImpl(int64_t in, int64_t out, int64_t stride, int64_t height, int64_t width) {
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(in));
    conv1 = register_module("conv1", SparseConv2d(in, out, 3, stride, 1, false));
    conv1->fedWith(height, width);
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
    conv2 = register_module("conv2", SparseConv2d(out, out, 3, 1, 1, false));
    conv2->fedWith(conv1->outputHeight(), conv1->outputWidth());
    if (stride != 1 || in != out) {
        shortcut = register_module("shortcut", SparseConv2d(in, out, 1, stride, 0, false));
        shortcut->fedWith(height, width);
    }
}

// ReLU and the residual add work in place on tensors no backward reads: batch norm's output (its
// backward reads its input) and the second convolution's (a convolution's backward reads its input and
// weight). That saves two activations per block, as in ResNet-18.
torch::Tensor WideBlockImpl::forward(const torch::Tensor& x) {
    auto a = bn1->forward(x).relu_();
    auto y = conv1->forward(a);
    y = conv2->forward(bn2->forward(y).relu_());
    // The projection takes the pre-activated input, as in the reference implementation.
    return y.add_(shortcut ? shortcut->forward(a) : x);
}

WideResNetImpl::WideResNetImpl(const InputShape& input, int64_t depth, int64_t widen) {
    if ((depth - 4) % 6 != 0) throw ConfigError("model", "wide resnet depth must be 6n + 4");
    const int64_t n = (depth - 4) / 6;
    stem = register_module("conv1", SparseConv2d(input.channels, 16, 3, 1, 1, false));
    stem->fedWith(input.height, input.width);
    int64_t in = 16;
    int64_t h = input.height, w = input.width;
    for (int g = 0; g < 3; ++g) {
        const int64_t width = (16 << g) * widen;
        for (int64_t b = 0; b < n; ++b) {
            WideBlock block(in, width, b == 0 && g > 0 ? 2 : 1, h, w);
            groups->push_back(block);
            std::tie(h, w) = block->outputSize();
            in = width;
        }
    }
    register_module("blocks", groups);
    bn = register_module("bn", torch::nn::BatchNorm2d(in));
    fc = register_module("fc", SparseLinear(in, input.numClasses));
}

torch::Tensor WideResNetImpl::features(torch::Tensor x) {
    x = groups->forward(stem->forward(x));
    x = bn->forward(x).relu_();
    return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
}

torch::Tensor WideResNetImpl::forward(torch::Tensor x) { return fc->forward(features(x)); }

} // namespace srigl
