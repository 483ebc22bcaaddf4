#include "engine/conversion/conv_reconstruction.hpp"

#include <algorithm>
#include <stdexcept>

namespace srigl::nm {

namespace {

// Unfolded floats per chunk of samples (about 64 MB).
constexpr int64_t kPatchBudget = int64_t{16} << 20;

} // namespace

torch::Tensor convolutionPatches(const SparseConv2dImpl& conv, const torch::Tensor& input) {
    if (input.dim() != 4 || input.size(1) != conv.weight.size(1))
        throw std::invalid_argument("convolution reconstruction: the input does not match the layer's channels");
    const int64_t kh = conv.weight.size(2), kw = conv.weight.size(3);
    const auto cols = torch::nn::functional::unfold(
        input, torch::nn::functional::UnfoldFuncOptions({kh, kw}).stride(conv.stride).padding(conv.padding)); // [N, K, L]
    return cols.transpose(1, 2).reshape({-1, cols.size(1)});
}

void addConvolutionBatch(ReconstructionStatistics& statistics, const SparseConv2dImpl& conv, const torch::Tensor& input,
                         const torch::Tensor& target) {
    torch::NoGradGuard noGrad;
    if (input.dim() != 4 || target.dim() != 4 || input.size(0) != target.size(0) || target.size(1) != conv.weight.size(0))
        throw std::invalid_argument("convolution reconstruction: inputs [N, in, H, W] and targets [N, out, H', W'] do not match");
    const int64_t n = input.size(0);
    if (n == 0) throw std::invalid_argument("the calibration set is empty");
    const int64_t perSample = conv.weight[0].numel() * target.size(2) * target.size(3);
    const int64_t step = std::max<int64_t>(1, kPatchBudget / std::max<int64_t>(1, perSample));
    for (int64_t start = 0; start < n; start += step) {
        const int64_t end = std::min(n, start + step);
        const auto x = convolutionPatches(conv, input.slice(0, start, end));
        const auto y = target.slice(0, start, end).permute({0, 2, 3, 1}).reshape({-1, target.size(1)});
        if (x.size(0) != y.size(0))
            throw std::invalid_argument("convolution reconstruction: the targets do not have the layer's output size");
        statistics.add(x, y);
    }
}

ReconstructionResult reconstructConvolution(SparseConv2dImpl& conv, const std::vector<torch::Tensor>& inputs,
                                            const std::vector<torch::Tensor>& targets,
                                            const ReconstructionOptions& options) {
    if (inputs.empty() || inputs.size() != targets.size())
        throw std::invalid_argument("convolution reconstruction needs one target batch per input batch");
    ReconstructionStatistics stats(conv.bias.defined());
    for (size_t i = 0; i < inputs.size(); ++i) addConvolutionBatch(stats, conv, inputs[i], targets[i]);
    return reconstructFromStatistics(conv.weight, conv.mask, conv.bias, stats, options);
}

} // namespace srigl::nm
