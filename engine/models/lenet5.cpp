// LeNet-5. 28x28 inputs are padded by 2 so that both MNIST and CIFAR reach 16 x 5 x 5 features.
#include "engine/models/lenet5.hpp"

#include "engine/errors.hpp"

namespace srigl {

LeNet5Impl::LeNet5Impl(const InputShape& input) {
    const int64_t pad = input.height < 32 ? (32 - input.height + 1) / 2 : 0;
    conv1 = register_module("conv1", SparseConv2d(input.channels, 6, 5, 1, pad));
    conv1->fedWith(input.height, input.width);
    conv2 = register_module("conv2", SparseConv2d(6, 16, 5));
    conv2->fedWith(conv1->outputHeight() / 2, conv1->outputWidth() / 2); // after a 2x2 max pool
    int64_t h = ((input.height + 2 * pad - 4) / 2 - 4) / 2;
    int64_t w = ((input.width + 2 * pad - 4) / 2 - 4) / 2;
    if (h < 1 || w < 1) throw ConfigError("model", "lenet5 needs inputs of at least 28x28");
    fc1 = register_module("fc1", SparseLinear(16 * h * w, 120));
    fc2 = register_module("fc2", SparseLinear(120, 84));
    fc3 = register_module("fc3", SparseLinear(84, input.numClasses));
}

torch::Tensor LeNet5Impl::features(torch::Tensor x) {
    // Pool, then ReLU: the same function as ReLU then pool, a quarter of the ReLUs, and no ties among
    // ReLU's zeros for the pool to break by rounding noise (which would send gradients elsewhere
    // depending on how the convolution summed: masked-dense and condensed must agree).
    x = torch::relu(torch::max_pool2d(conv1->forward(x), 2));
    x = torch::relu(torch::max_pool2d(conv2->forward(x), 2));
    return x.flatten(1);
}

torch::Tensor LeNet5Impl::forward(torch::Tensor x) {
    x = torch::relu(fc1->forward(features(x)));
    x = torch::relu(fc2->forward(x));
    return fc3->forward(x);
}

} // namespace srigl
