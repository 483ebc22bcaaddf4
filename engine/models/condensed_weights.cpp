// Dense <-> condensed conversions of a training layer, and its forward with the growth captures.
#include "engine/models/condensed_weights.hpp"

#include "engine/kernels/condensed_autograd.hpp"
#include "engine/kernels/condensed_conv_autograd.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace srigl {
namespace {

torch::Tensor longIndices(const CondensedWeights& layer) { return layer.indices.to(torch::kLong); }

} // namespace

CondensedWeights condenseLayer(const torch::Tensor& weight2d, const torch::Tensor& mask2d) {
    torch::NoGradGuard noGrad;
    const auto mask = mask2d.to(torch::kCPU, torch::kBool).contiguous();
    const int64_t out = mask.size(0), fanIn = mask.size(1);
    const auto counts = mask.sum(1);
    const auto aliveRows = counts > 0;
    const int64_t active = aliveRows.sum().item<int64_t>();
    if (active == 0) throw std::invalid_argument("condenseLayer: every neuron of the layer is ablated");
    const int64_t k = counts.max().item<int64_t>();
    if ((counts.masked_select(aliveRows) != k).any().item<bool>())
        throw std::invalid_argument("condenseLayer: the mask is not constant fan-in (active rows keep " +
                                    std::to_string(counts.masked_select(aliveRows).min().item<int64_t>()) + " to " +
                                    std::to_string(k) + " inputs)");
    // Row-major nonzero lists each active row's inputs in ascending order, k at a time.
    const auto columns = mask.nonzero().select(1, 1).view({active, k});
    auto idx = torch::arange(k, torch::kLong).unsqueeze(0).repeat({out, 1});
    idx.index_copy_(0, aliveRows.nonzero().flatten(), columns);

    CondensedWeights c;
    c.fanIn = fanIn;
    c.ablated = out - active;
    c.alive = aliveRows.to(torch::kFloat).unsqueeze(1).to(weight2d.device());
    idx = idx.to(weight2d.device());
    c.values = weight2d.detach().gather(1, idx).contiguous();
    if (c.ablated > 0) c.values.mul_(c.alive);
    c.values.set_requires_grad(true);
    c.indices = idx.to(fanIn <= 32767 ? torch::kShort : torch::kInt).contiguous();
    return c;
}

CondensedWeights makeCondensed(const torch::Tensor& values, const torch::Tensor& indices, int64_t fanIn) {
    torch::NoGradGuard noGrad;
    if (values.dim() != 2 || !values.sizes().equals(indices.sizes()) || values.size(1) < 1 || values.size(1) > fanIn)
        throw std::invalid_argument("makeCondensed: values and indices must both be [out, k] with 1 <= k <= fan_in");
    CondensedWeights c;
    c.fanIn = fanIn;
    c.alive = torch::ones({values.size(0), 1}, values.options().dtype(torch::kFloat));
    c.values = values.detach().contiguous();
    c.values.set_requires_grad(true);
    c.indices = indices.to(fanIn <= 32767 ? torch::kShort : torch::kInt).contiguous();
    return c;
}

torch::Tensor expandCondensed(const CondensedWeights& layer, const torch::Tensor& condensed) {
    torch::NoGradGuard noGrad;
    auto src = condensed.detach();
    if (layer.ablated > 0) src = src * layer.alive;
    return torch::zeros({layer.rows(), layer.fanIn}, src.options()).scatter_(1, longIndices(layer), src);
}

torch::Tensor expandMask(const CondensedWeights& layer) {
    torch::NoGradGuard noGrad;
    auto kept = layer.alive.to(torch::kBool).expand({layer.rows(), layer.k()});
    return torch::zeros({layer.rows(), layer.fanIn}, kept.options()).scatter_(1, longIndices(layer), kept);
}

torch::Tensor gatherCondensed(const CondensedWeights& layer, const torch::Tensor& dense) {
    torch::NoGradGuard noGrad;
    auto out = dense.detach().gather(1, longIndices(layer));
    if (layer.ablated > 0) out.mul_(layer.alive);
    return out.contiguous();
}

torch::Tensor denseGradient(const CondensedWeights& layer) {
    torch::NoGradGuard noGrad;
    auto sum = layer.capturedGrad.defined()
                   ? layer.capturedGrad.clone()
                   : torch::zeros({layer.rows(), layer.fanIn}, layer.values.options().requires_grad(false));
    // A step whose backward never ran (a non-finite loss stops training first) has no gy: pair by position.
    const size_t steps = std::min(layer.inputs.size(), layer.gradOutputs.size());
    // One product per step, added in step order: what the masked-dense path sums from weight.grad.
    for (size_t s = 0; s < steps; ++s) sum.add_(layer.gradOutputs[s].t().mm(layer.inputs[s]));
    return sum;
}

torch::Tensor condensedMatmul(const std::shared_ptr<CondensedWeights>& layer, const torch::Tensor& x2d,
                              const torch::Tensor& bias) {
    auto y = condensedLinear(x2d, layer->values, layer->indices, bias);
    if (layer->capture && y.requires_grad()) {
        layer->inputs.push_back(x2d.detach());
        std::weak_ptr<CondensedWeights> sink = layer; // the graph must not keep the layer alive
        y.register_hook([sink](const torch::Tensor& gy) {
            if (auto l = sink.lock()) l->gradOutputs.push_back(gy.detach());
        });
    }
    return y;
}

torch::Tensor condensedConvolution(const std::shared_ptr<CondensedWeights>& layer, const torch::Tensor& x,
                                   const torch::Tensor& bias, int64_t kernel, int64_t padding, int64_t stride) {
    auto y = condensedConv2d(x, layer->values, layer->indices, bias, kernel, kernel, padding, stride);
    if (layer->capture && y.requires_grad()) {
        // Only at the steps before a mask update. The input is held by the graph anyway (grad_values
        // reads it); the weight passed to LibTorch only gives the shape (its values are not read when
        // only the weight's gradient is asked for).
        const std::vector<int64_t> weightShape = {layer->rows(), x.size(1), kernel, kernel};
        std::weak_ptr<CondensedWeights> sink = layer; // the graph must not keep the layer alive
        y.register_hook([sink, input = x.detach(), weightShape, padding, stride](const torch::Tensor& gy) {
            auto l = sink.lock();
            if (!l) return;
            torch::NoGradGuard noGrad;
            const auto shapeOnly = torch::empty(weightShape, gy.options());
            const std::array<bool, 3> weightOnly = {false, true, false};
            auto g = std::get<1>(at::convolution_backward(gy.detach(), input, shapeOnly, c10::nullopt,
                                                          {stride, stride}, {padding, padding}, {1, 1}, false,
                                                          {0, 0}, 1, weightOnly))
                         .reshape({weightShape[0], -1});
            l->lastGrad = g;
            if (l->capturedGrad.defined()) l->capturedGrad.add_(g);
            else l->capturedGrad = g.clone();
        });
    }
    return y;
}

} // namespace srigl
