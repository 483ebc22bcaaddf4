// Condensing a masked layer into values + indices, and running it.
#include "engine/inference/condensed_linear.hpp"

#include "engine/kernels/cuda/condensed_cuda.hpp"
#include "engine/errors.hpp"
#include "engine/kernels/cuda/current_stream.hpp"

namespace srigl {

namespace {

std::string layerLabel(const std::string& name) { return name.empty() ? "layer" : "layer " + name; }

} // namespace

int64_t CondensedLinear::bytes() const {
    return values.numel() * 4 + indices.numel() * static_cast<int64_t>(indices.element_size()) + bias.numel() * 4;
}

kernels::CondensedView CondensedLinear::view() const {
    kernels::CondensedView v;
    v.values = values.data_ptr<float>();
    v.indices = indices.data_ptr();
    v.indices16 = indices16();
    v.rows = rows();
    v.k = k;
    v.inFeatures = inFeatures;
    v.bias = bias.data_ptr<float>();
    return v;
}

torch::Tensor CondensedLinear::forward(const torch::Tensor& x, kernels::Isa isa, int threads) const {
    if (x.dim() != 2 || x.size(1) != inFeatures)
        throw InferenceError(layerLabel(name) + " expects inputs of shape [batch, " + std::to_string(inFeatures) +
                             "], got " + c10::str(x.sizes()));
    if (x.is_cuda() && values.is_cuda() && x.scalar_type() == torch::kFloat && cuda::kernelsBuilt())
        return forwardCuda(x);
    if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat || !values.device().is_cpu()) return reference(x);
    torch::Tensor input = x.contiguous();
    torch::Tensor y = torch::empty({x.size(0), rows()}, x.options());
    kernels::condensedForward(view(), input.data_ptr<float>(), x.size(0), y.data_ptr<float>(), isa, threads);
    return y;
}

torch::Tensor CondensedLinear::forward(const torch::Tensor& x) const { return forward(x, kernels::detectIsa()); }

torch::Tensor CondensedLinear::forwardCuda(const torch::Tensor& x, cuda::ForwardVariant variant) const {
    if (x.dim() != 2 || x.size(1) != inFeatures)
        throw InferenceError(layerLabel(name) + " expects inputs of shape [batch, " + std::to_string(inFeatures) +
                             "], got " + c10::str(x.sizes()));
    if (!x.is_cuda() || !values.is_cuda() || x.get_device() != values.get_device() || x.scalar_type() != torch::kFloat)
        throw InferenceError(layerLabel(name) + ": the CUDA kernels need float32 inputs and weights on one GPU");
    const CudaDeviceScope onItsGpu(x.get_device());
    torch::Tensor input = x.contiguous();
    torch::Tensor y = torch::empty({x.size(0), rows()}, x.options());
    cuda::condensedForward(view(), input.data_ptr<float>(), x.size(0), y.data_ptr<float>(), currentCudaStream(),
                           variant);
    return y;
}

torch::Tensor CondensedLinear::reference(const torch::Tensor& x) const {
    // Gather the k inputs of every row, weight them and sum: the condensed arithmetic in plain
    // LibTorch ops (what the SRigL paper timed in eager PyTorch), used off the CPU and as a check.
    torch::Tensor gathered = x.index_select(1, indices.flatten().to(torch::kLong)).view({x.size(0), rows(), k});
    return (gathered * values.unsqueeze(0)).sum(2) + bias;
}

CondensedLinear CondensedLinear::to(const torch::Device& device) const {
    CondensedLinear c = *this;
    c.values = values.to(device);
    c.indices = indices.to(device);
    c.bias = bias.to(device);
    return c;
}

namespace {

// The bias as float32 [out] on the CPU (zeros when the layer has none).
torch::Tensor biasOf(const torch::Tensor& biasIn, int64_t out, const std::string& label) {
    if (biasIn.defined() && (biasIn.dim() != 1 || biasIn.size(0) != out))
        throw InferenceError(label + ": the bias has shape " + c10::str(biasIn.sizes()) + ", expected [" +
                             std::to_string(out) + "]");
    return biasIn.defined() ? biasIn.detach().to(torch::kCPU, torch::kFloat).contiguous() : torch::zeros({out}, torch::kFloat);
}

} // namespace

CondensedLinear condenseLinear(const torch::Tensor& weightIn, const torch::Tensor& maskIn, const torch::Tensor& biasIn,
                               const std::string& name, bool keepAblated) {
    torch::NoGradGuard noGrad;
    const std::string label = layerLabel(name);
    if (!weightIn.defined() || weightIn.dim() < 2 || weightIn.size(0) == 0)
        throw InferenceError(label + ": needs a weight of shape [out, fan_in]");
    if (!maskIn.defined() || !maskIn.sizes().equals(weightIn.sizes()))
        throw InferenceError(label + ": the mask's shape " + c10::str(maskIn.sizes()) + " does not match the weight's " +
                             c10::str(weightIn.sizes()));
    const int64_t out = weightIn.size(0);
    torch::Tensor weight = weightIn.detach().to(torch::kCPU, torch::kFloat).reshape({out, -1}).contiguous();
    torch::Tensor mask = maskIn.detach().to(torch::kCPU).reshape({out, -1}).ne(0);
    const int64_t fanIn = weight.size(1);
    torch::Tensor bias = biasOf(biasIn, out, label);

    torch::Tensor counts = mask.sum(1);
    const int64_t* count = counts.data_ptr<int64_t>();
    int64_t k = 0, kRow = -1;
    for (int64_t r = 0; r < out; ++r) {
        if (count[r] == 0) continue;
        if (k == 0) {
            k = count[r];
            kRow = r;
        } else if (count[r] != k) {
            throw InferenceError(label + " is not constant fan-in: neuron " + std::to_string(kRow) + " has " +
                                 std::to_string(k) + " inputs, neuron " + std::to_string(r) + " has " +
                                 std::to_string(count[r]));
        }
    }
    CondensedLinear c;
    c.name = name;
    c.inFeatures = fanIn;
    c.outFeatures = out;
    // A layer whose neurons are all ablated still needs k >= 1 for the kernels: one zero weight.
    c.k = std::max<int64_t>(k, 1);
    for (int64_t r = 0; r < out; ++r)
        if (count[r] > 0 || keepAblated) c.rowIds.push_back(r);
    const int64_t rows = static_cast<int64_t>(c.rowIds.size());

    const auto indexType = fanIn <= 32768 ? torch::kShort : torch::kInt;
    torch::Tensor values = torch::zeros({rows, c.k}, torch::kFloat);
    torch::Tensor indices = torch::zeros({rows, c.k}, torch::kLong);
    if (k > 0) {
        torch::Tensor ids = torch::tensor(c.rowIds, torch::kLong);
        torch::Tensor live = counts.index_select(0, ids).gt(0);
        torch::Tensor liveRows = ids.masked_select(live);
        // nonzero() lists entries row-major, so each row's inputs come out ascending.
        torch::Tensor cols = mask.index_select(0, liveRows).nonzero().select(1, 1).view({-1, k});
        torch::Tensor liveValues = weight.index_select(0, liveRows).gather(1, cols);
        torch::Tensor where = live.nonzero().squeeze(1);
        values.index_copy_(0, where, liveValues);
        indices.index_copy_(0, where, cols);
    }
    c.values = values;
    c.indices = indices.to(indexType);
    c.bias = rows == out ? bias.clone() : bias.index_select(0, torch::tensor(c.rowIds, torch::kLong));
    return c;
}

CondensedLinear condenseLinear(const CondensedWeights& form, const torch::Tensor& biasIn, const std::string& name,
                               bool keepAblated) {
    torch::NoGradGuard noGrad;
    const std::string label = layerLabel(name);
    if (!form.values.defined() || form.values.dim() != 2 || form.rows() == 0 || form.k() < 1 ||
        !form.indices.sizes().equals(form.values.sizes()))
        throw InferenceError(label + ": needs a condensed form of shape [out, k]");
    const int64_t out = form.rows();
    torch::Tensor bias = biasOf(biasIn, out, label);
    const torch::Tensor alive = form.alive.to(torch::kCPU).reshape({out}).gt(0);
    CondensedLinear c;
    c.name = name;
    c.inFeatures = form.fanIn;
    c.outFeatures = out;
    c.k = form.k();
    const auto* live = alive.data_ptr<bool>();
    for (int64_t r = 0; r < out; ++r)
        if (live[r] || keepAblated) c.rowIds.push_back(r);
    const torch::Tensor ids = torch::tensor(c.rowIds, torch::kLong);
    const torch::Tensor kept = alive.index_select(0, ids).unsqueeze(1);
    // An ablated row kept for its output is k zero weights reading input 0, as condensed from a mask.
    c.values = form.values.detach().to(torch::kCPU, torch::kFloat).index_select(0, ids).mul(kept).contiguous();
    c.indices = form.indices.to(torch::kCPU, torch::kLong)
                    .index_select(0, ids)
                    .masked_fill(kept.logical_not(), 0)
                    .to(form.fanIn <= 32768 ? torch::kShort : torch::kInt)
                    .contiguous();
    c.bias = c.rowIds.size() == static_cast<size_t>(out) ? bias.clone() : bias.index_select(0, ids);
    return c;
}

} // namespace srigl
