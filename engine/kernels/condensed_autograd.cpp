// The condensed linear layer as a torch::autograd::Function: kernels for float32 on the CPU, LibTorch
// ops (gather / index_add) otherwise. Uses only the Function API common to LibTorch 1.13 and 2.x.
#include "engine/kernels/condensed_autograd.hpp"

#include "engine/kernels/condensed_backward.hpp"

#include <stdexcept>
#include <string>

namespace srigl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

bool useKernels(const torch::Tensor& x, const torch::Tensor& values) {
    return x.device().is_cpu() && values.device().is_cpu() && x.scalar_type() == torch::kFloat;
}

kernels::CondensedView viewOf(const torch::Tensor& values, const torch::Tensor& indices, const torch::Tensor& bias,
                              int64_t inFeatures) {
    kernels::CondensedView v;
    v.values = values.data_ptr<float>();
    v.indices = indices.data_ptr();
    v.indices16 = indices.scalar_type() == torch::kShort;
    v.rows = values.size(0);
    v.k = values.size(1);
    v.inFeatures = inFeatures;
    v.bias = bias.defined() ? bias.data_ptr<float>() : nullptr;
    return v;
}

// The inputs each kept weight reads, [batch, rows, k]: the reference path's forward and grad_values.
torch::Tensor gathered(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices) {
    return x.index_select(1, indices.flatten()).view({x.size(0), values.size(0), values.size(1)});
}

struct CondensedLinearFunction : public torch::autograd::Function<CondensedLinearFunction> {
    // x [batch, in] and values already checked by condensedLinear; indices int16/int32 on the kernel
    // path, int64 on the reference path.
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& xIn, const torch::Tensor& valuesIn,
                                 const torch::Tensor& indices, const torch::Tensor& biasIn, bool hasBias,
                                 int64_t isa, int64_t threads) {
        const torch::Tensor x = xIn.contiguous(), values = valuesIn.contiguous();
        ctx->save_for_backward({x, values, indices});
        ctx->saved_data["isa"] = isa;
        ctx->saved_data["threads"] = threads;
        ctx->saved_data["has_bias"] = hasBias;
        if (!useKernels(x, values)) {
            torch::Tensor y = (gathered(x, values, indices) * values.unsqueeze(0)).sum(2);
            return hasBias ? y + biasIn : y;
        }
        const torch::Tensor bias = hasBias ? biasIn.contiguous() : torch::Tensor();
        torch::Tensor y = torch::empty({x.size(0), values.size(0)}, x.options());
        kernels::condensedForward(viewOf(values, indices, bias, x.size(1)), x.data_ptr<float>(), x.size(0),
                                  y.data_ptr<float>(), static_cast<kernels::Isa>(isa), static_cast<int>(threads));
        return y;
    }

    static tensor_list backward(AutogradContext* ctx, tensor_list gradOutputs) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &values = saved[1], &indices = saved[2];
        const torch::Tensor gy = gradOutputs[0].contiguous();
        const bool wantX = ctx->needs_input_grad(0), wantValues = ctx->needs_input_grad(1);
        const bool wantBias = ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(3);
        torch::Tensor gx, gv, gb;
        if (wantBias) gb = gy.sum(0);
        if (!useKernels(x, values)) {
            if (wantX) {
                torch::Tensor contributions = (gy.unsqueeze(2) * values.unsqueeze(0)).reshape({x.size(0), -1});
                gx = torch::zeros_like(x).index_add_(1, indices.flatten(), contributions);
            }
            if (wantValues) gv = (gy.unsqueeze(2) * gathered(x, values, indices)).sum(0);
        } else {
            const auto isa = static_cast<kernels::Isa>(ctx->saved_data["isa"].toInt());
            const int threads = static_cast<int>(ctx->saved_data["threads"].toInt());
            const kernels::CondensedView view = viewOf(values, indices, torch::Tensor(), x.size(1));
            if (wantX) {
                gx = torch::empty_like(x);
                kernels::condensedGradInput(view, gy.data_ptr<float>(), x.size(0), gx.data_ptr<float>(), isa, threads);
            }
            if (wantValues) {
                gv = torch::empty_like(values);
                kernels::condensedGradValues(view, x.data_ptr<float>(), gy.data_ptr<float>(), x.size(0),
                                             gv.data_ptr<float>(), isa, threads);
            }
        }
        // One gradient per forward input: x, values, indices, bias, hasBias, isa, threads.
        return {gx, gv, torch::Tensor(), gb, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

[[noreturn]] void reject(const std::string& message) { throw std::invalid_argument("condensedLinear: " + message); }

} // namespace

torch::Tensor condensedLinear(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias, kernels::Isa isa, int threads) {
    if (!x.defined() || x.dim() < 1 || x.size(-1) < 1) reject("x must have shape [..., inFeatures >= 1]");
    if (!values.defined() || values.dim() != 2 || values.size(1) < 1)
        reject("values must have shape [rows, k >= 1], got " +
               (values.defined() ? c10::str(values.sizes()) : std::string("undefined")));
    if (!indices.defined() || !indices.sizes().equals(values.sizes()))
        reject("indices must have the shape of values " + c10::str(values.sizes()));
    const auto indexType = indices.scalar_type();
    if (indexType != torch::kShort && indexType != torch::kInt && indexType != torch::kLong)
        reject("indices must be int16, int32 or int64");
    if (!x.is_floating_point() || values.scalar_type() != x.scalar_type())
        reject("x and values must share one floating-point dtype");
    if (bias.defined() && (bias.dim() != 1 || bias.size(0) != values.size(0) || bias.scalar_type() != x.scalar_type()))
        reject("bias must have shape [" + std::to_string(values.size(0)) + "] and the dtype of x");
    if (values.device() != x.device() || indices.device() != x.device() || (bias.defined() && bias.device() != x.device()))
        reject("x, values, indices and bias must be on one device");
    if (!kernels::isaSupported(isa)) reject("instruction set " + kernels::toString(isa) + " is not supported by this CPU");

    const int64_t inFeatures = x.size(-1);
    if (indices.numel() > 0) {
        // One cheap pass (rows * k, against the kernels' batch * rows * k) keeps an out-of-range index
        // from reading or writing outside x and grad_input.
        const int64_t lo = indices.min().item<int64_t>(), hi = indices.max().item<int64_t>();
        if (lo < 0 || hi >= inFeatures)
            reject("indices must lie in [0, " + std::to_string(inFeatures) + "), found [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
    }

    torch::Tensor x2 = x.reshape({-1, inFeatures});
    // The kernels read int16 or int32; LibTorch's index ops want int64.
    torch::Tensor idx;
    if (useKernels(x2, values)) idx = indexType == torch::kLong ? indices.to(torch::kInt) : indices.contiguous();
    else idx = indices.to(torch::kLong);
    // LibTorch 1.13's Function::apply cannot take an undefined tensor: no bias travels as an empty one.
    const torch::Tensor biasArg = bias.defined() ? bias : torch::empty({0}, values.options());
    torch::Tensor y = CondensedLinearFunction::apply(x2, values, idx, biasArg, bias.defined(), static_cast<int64_t>(isa),
                                                     static_cast<int64_t>(threads));
    auto outShape = x.sizes().vec();
    outShape.back() = values.size(0);
    return y.view(outShape);
}

torch::Tensor condensedLinear(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias) {
    return condensedLinear(x, values, indices, bias, kernels::detectIsa());
}

} // namespace srigl
