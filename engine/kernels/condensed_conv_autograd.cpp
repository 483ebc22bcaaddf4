// The direct condensed convolution as a torch::autograd::Function (Function API common to LibTorch 1.13
// and 2.x), with the unfold fallback for what the kernels do not take.
#include "engine/kernels/condensed_conv_autograd.hpp"

#include "engine/kernels/condensed_autograd.hpp"
#include "engine/kernels/condensed_conv.hpp"
#include "engine/kernels/condensed_tensor_view.hpp"

#include <stdexcept>
#include <string>

namespace srigl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

kernels::ConvGeometry geometryOf(const torch::Tensor& x, int64_t kernelH, int64_t kernelW, int64_t padding,
                                 int64_t stride) {
    kernels::ConvGeometry g;
    g.batch = x.size(0);
    g.channels = x.size(1);
    g.height = x.size(2);
    g.width = x.size(3);
    g.kernelH = kernelH;
    g.kernelW = kernelW;
    g.padding = padding;
    g.stride = stride;
    return g;
}

struct CondensedConvFunction : public torch::autograd::Function<CondensedConvFunction> {
    // x, values, indices (int16/int32) and bias already checked by condensedConv2d.
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& xIn, const torch::Tensor& valuesIn,
                                 const torch::Tensor& indices, const torch::Tensor& biasIn, bool hasBias,
                                 int64_t kernelH, int64_t kernelW, int64_t padding, int64_t stride, int64_t isa,
                                 int64_t threads) {
        const torch::Tensor x = xIn.contiguous(), values = valuesIn.contiguous();
        const torch::Tensor bias = hasBias ? biasIn.contiguous() : torch::Tensor();
        const kernels::ConvGeometry g = geometryOf(x, kernelH, kernelW, padding, stride);
        torch::Tensor y = torch::empty({g.batch, values.size(0), g.outH(), g.outW()}, x.options());
        kernels::condensedConvForward(kernels::condensedViewOf(values, indices, bias, g.taps()), g, x.data_ptr<float>(),
                                      y.data_ptr<float>(), static_cast<kernels::Isa>(isa), static_cast<int>(threads));
        ctx->save_for_backward({x, values, indices});
        ctx->saved_data["kernel_h"] = kernelH;
        ctx->saved_data["kernel_w"] = kernelW;
        ctx->saved_data["padding"] = padding;
        ctx->saved_data["stride"] = stride;
        ctx->saved_data["isa"] = isa;
        ctx->saved_data["threads"] = threads;
        ctx->saved_data["has_bias"] = hasBias;
        return y;
    }

    static tensor_list backward(AutogradContext* ctx, tensor_list gradOutputs) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &values = saved[1], &indices = saved[2];
        const torch::Tensor gy = gradOutputs[0].contiguous();
        const bool wantX = ctx->needs_input_grad(0), wantValues = ctx->needs_input_grad(1);
        const bool wantBias = ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(3);
        const kernels::ConvGeometry g =
            geometryOf(x, ctx->saved_data["kernel_h"].toInt(), ctx->saved_data["kernel_w"].toInt(),
                       ctx->saved_data["padding"].toInt(), ctx->saved_data["stride"].toInt());
        torch::Tensor gx = wantX ? torch::empty_like(x) : torch::Tensor();
        torch::Tensor gv = wantValues ? torch::empty_like(values) : torch::Tensor();
        kernels::condensedConvBackward(
            kernels::condensedViewOf(values, indices, torch::Tensor(), g.taps()), g, x.data_ptr<float>(),
            gy.data_ptr<float>(), wantX ? gx.data_ptr<float>() : nullptr, wantValues ? gv.data_ptr<float>() : nullptr,
            static_cast<kernels::Isa>(ctx->saved_data["isa"].toInt()),
            static_cast<int>(ctx->saved_data["threads"].toInt()));
        torch::Tensor gb = wantBias ? gy.sum({0, 2, 3}) : torch::Tensor();
        // One gradient per forward input: x, values, indices, bias, hasBias, kernelH, kernelW, padding,
        // stride, isa, threads.
        return {gx,
                gv,
                torch::Tensor(),
                gb,
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor(),
                torch::Tensor()};
    }
};

[[noreturn]] void reject(const std::string& message) { throw std::invalid_argument("condensedConv2d: " + message); }

} // namespace

torch::Tensor condensedConv2d(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias, int64_t kernelH, int64_t kernelW, int64_t padding,
                              int64_t stride, kernels::Isa isa, int threads) {
    if (!x.defined() || x.dim() != 4) reject("x must have shape [batch, channels, height, width]");
    if (kernelH < 1 || kernelW < 1 || padding < 0 || stride < 1)
        reject("kernel sizes and stride must be >= 1 and padding >= 0");
    if (x.size(2) + 2 * padding < kernelH || x.size(3) + 2 * padding < kernelW)
        reject("the kernel is larger than the padded input " + c10::str(x.sizes()));
    if (!values.defined() || values.dim() != 2 || values.size(1) < 1) reject("values must have shape [rows, k >= 1]");
    if (!indices.defined() || !indices.sizes().equals(values.sizes()))
        reject("indices must have the shape of values " + c10::str(values.sizes()));
    const bool kernelPath = x.device().is_cpu() && values.device().is_cpu() && x.scalar_type() == torch::kFloat &&
                            values.scalar_type() == torch::kFloat && indices.device().is_cpu() && x.numel() > 0;
    if (!kernelPath) {
        // unfold's columns are the taps in the indices' order: the linear layer over patches is the convolution.
        const int64_t outH = (x.size(2) + 2 * padding - kernelH) / stride + 1;
        const int64_t outW = (x.size(3) + 2 * padding - kernelW) / stride + 1;
        auto cols = torch::nn::functional::unfold(
            x, torch::nn::functional::UnfoldFuncOptions({kernelH, kernelW}).padding(padding).stride(stride));
        auto y = condensedLinear(cols.transpose(1, 2), values, indices, bias, isa, threads);
        return y.transpose(1, 2).reshape({x.size(0), values.size(0), outH, outW});
    }
    if (bias.defined() && (bias.dim() != 1 || bias.size(0) != values.size(0) || bias.scalar_type() != torch::kFloat ||
                           !bias.device().is_cpu()))
        reject("bias must have shape [" + std::to_string(values.size(0)) + "], float32 on the CPU");
    const auto indexType = indices.scalar_type();
    if (indexType != torch::kShort && indexType != torch::kInt && indexType != torch::kLong)
        reject("indices must be int16, int32 or int64");
    // The kernels read int16 or int32 and check every index against channels * kh * kw themselves.
    const torch::Tensor idx = indexType == torch::kLong ? indices.to(torch::kInt) : indices.contiguous();
    // LibTorch 1.13's Function::apply cannot take an undefined tensor: no bias travels as an empty one.
    const torch::Tensor biasArg = bias.defined() ? bias : torch::empty({0}, values.options());
    return CondensedConvFunction::apply(x, values, idx, biasArg, bias.defined(), kernelH, kernelW, padding, stride,
                                        static_cast<int64_t>(isa), static_cast<int64_t>(threads));
}

torch::Tensor condensedConv2d(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias, int64_t kernelH, int64_t kernelW, int64_t padding,
                              int64_t stride) {
    return condensedConv2d(x, values, indices, bias, kernelH, kernelW, padding, stride, kernels::detectIsa());
}

torch::Tensor condensedConv2d(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias, int64_t kernelH, int64_t kernelW, int64_t padding,
                              kernels::Isa isa, int threads) {
    return condensedConv2d(x, values, indices, bias, kernelH, kernelW, padding, 1, isa, threads);
}

} // namespace srigl
