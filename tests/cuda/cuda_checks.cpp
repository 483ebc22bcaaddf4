// The CUDA kernel checks: random layers on the CPU, a double-precision reference with LibTorch
// (index_select for the forward and grad_values, index_add for grad_input), the kernels on the GPU,
// and a comparison relative to the largest reference value. Outputs start as NaN, so an entry the
// kernels never write fails the comparison.
#include "tests/cuda/cuda_checks.hpp"

#include "engine/inference/condensed_linear.hpp"
#include "engine/kernels/condensed_autograd.hpp"
#include "engine/kernels/cuda/condensed_cuda.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace srigl::tests {
namespace {

struct Shape {
    int64_t inFeatures, rows, k, batch;
    bool indices16;
    bool bias = true;
    bool ablated = false; // every third row stored as zeros
};

std::string describe(const Shape& s) {
    std::ostringstream out;
    out << "in" << s.inFeatures << "_rows" << s.rows << "_k" << s.k << "_batch" << s.batch
        << (s.indices16 ? "_i16" : "_i32") << (s.bias ? "" : "_nobias") << (s.ablated ? "_ablated" : "");
    return out.str();
}

// A random condensed layer on the CPU: per row k distinct inputs, ascending.
struct Layer {
    torch::Tensor values, indices, bias; // float [rows, k], int16/int32 [rows, k], float [rows] or undefined
};

Layer makeLayer(const Shape& s, torch::Generator& gen) {
    Layer layer;
    layer.values = torch::randn({s.rows, s.k}, gen);
    if (s.ablated)
        for (int64_t r = 0; r < s.rows; r += 3) layer.values[r].zero_();
    auto indices = torch::empty({s.rows, s.k}, torch::kLong);
    for (int64_t r = 0; r < s.rows; ++r)
        indices[r] = std::get<0>(torch::randperm(s.inFeatures, gen).slice(0, 0, s.k).sort());
    layer.indices = indices.to(s.indices16 ? torch::kInt16 : torch::kInt32);
    if (s.bias) layer.bias = torch::randn({s.rows}, gen);
    return layer;
}

struct Reference {
    torch::Tensor y, gx, gv; // double
};

// In batch chunks so the gathered [chunk, rows, k] block stays small.
Reference reference(const Shape& s, const Layer& layer, const torch::Tensor& x, const torch::Tensor& gy) {
    const auto values = layer.values.to(torch::kDouble);
    const auto flat = layer.indices.to(torch::kLong).reshape({-1});
    Reference ref;
    ref.y = torch::zeros({s.batch, s.rows}, torch::kDouble);
    ref.gx = torch::zeros({s.batch, s.inFeatures}, torch::kDouble);
    ref.gv = torch::zeros({s.rows, s.k}, torch::kDouble);
    const int64_t chunk = std::max<int64_t>(1, (int64_t(8) << 20) / std::max<int64_t>(1, s.rows * s.k));
    for (int64_t b0 = 0; b0 < s.batch; b0 += chunk) {
        const int64_t b1 = std::min(s.batch, b0 + chunk);
        const auto xc = x.slice(0, b0, b1).to(torch::kDouble);
        const auto gyc = gy.slice(0, b0, b1).to(torch::kDouble);
        const auto gathered = xc.index_select(1, flat).view({b1 - b0, s.rows, s.k});
        ref.y.slice(0, b0, b1).copy_((gathered * values.unsqueeze(0)).sum(2));
        ref.gv += (gathered * gyc.unsqueeze(2)).sum(0);
        const auto contrib = (gyc.unsqueeze(2) * values.unsqueeze(0)).reshape({b1 - b0, s.rows * s.k});
        ref.gx.slice(0, b0, b1).index_add_(1, flat, contrib);
    }
    if (layer.bias.defined()) ref.y += layer.bias.to(torch::kDouble).unsqueeze(0);
    return ref;
}

// Passes when max |got - want| <= tol * max |want| (tol grows with the terms per sum: float32 rounding).
std::string compare(const torch::Tensor& gotDevice, const torch::Tensor& want, int64_t terms) {
    if (want.numel() == 0) return gotDevice.numel() == 0 ? "" : "non-empty output for an empty reference";
    const auto got = gotDevice.to(torch::kCPU).to(torch::kDouble);
    const double scale = std::max(want.abs().max().item<double>(), 1e-30);
    const double err = (got - want).abs().max().item<double>();
    const double tol = 1e-5 * std::max(1.0, std::sqrt(double(terms)) / 10.0);
    if (err <= tol * scale) return "";
    std::ostringstream out;
    out << "max error " << err << " vs max |reference| " << scale << " (relative " << err / scale << ", tolerance "
        << tol << ")";
    const auto bad = (got - want).abs().flatten().argmax().item<int64_t>();
    out << " at flat index " << bad << ": got " << got.flatten()[bad].item<double>() << ", want "
        << want.flatten()[bad].item<double>();
    return out.str();
}

kernels::CondensedView viewOf(const Shape& s, const Layer& device) {
    kernels::CondensedView view;
    view.values = s.rows > 0 ? device.values.data_ptr<float>() : nullptr;
    view.indices = s.rows > 0 ? device.indices.data_ptr() : nullptr;
    view.indices16 = s.indices16;
    view.rows = s.rows;
    view.k = s.k;
    view.inFeatures = s.inFeatures;
    view.bias = device.bias.defined() ? device.bias.data_ptr<float>() : nullptr;
    return view;
}

torch::Tensor nans(std::initializer_list<int64_t> sizes) {
    return torch::full(sizes, std::numeric_limits<float>::quiet_NaN(),
                       torch::TensorOptions().dtype(torch::kFloat).device(torch::kCUDA));
}

// Runs fn and turns an exception into a failed result.
CheckResult attempt(const std::string& name, const std::function<std::string()>& fn) {
    try {
        const std::string detail = fn();
        return {name, detail.empty(), detail};
    } catch (const std::exception& e) {
        return {name, false, std::string("threw: ") + e.what()};
    }
}

void checkShape(const Shape& s, uint64_t seed, std::vector<CheckResult>& results) {
    const std::string base = describe(s);
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    const Layer cpu = makeLayer(s, gen);
    const auto x = torch::randn({s.batch, s.inFeatures}, gen);
    const auto gy = torch::randn({s.batch, s.rows}, gen);
    const Reference ref = reference(s, cpu, x, gy);

    Layer dev;
    dev.values = cpu.values.to(torch::kCUDA).contiguous();
    dev.indices = cpu.indices.to(torch::kCUDA).contiguous();
    if (cpu.bias.defined()) dev.bias = cpu.bias.to(torch::kCUDA);
    const auto xd = x.to(torch::kCUDA).contiguous();
    const auto gyd = gy.to(torch::kCUDA).contiguous();
    const auto view = viewOf(s, dev);

    for (auto variant : {cuda::ForwardVariant::Auto, cuda::ForwardVariant::WarpPerRow, cuda::ForwardVariant::Tiled}) {
        results.push_back(attempt("forward_" + cuda::toString(variant) + "_" + base, [&] {
            auto y = nans({s.batch, s.rows});
            cuda::condensedForward(view, xd.data_ptr<float>(), s.batch, y.data_ptr<float>(), nullptr, variant);
            torch::cuda::synchronize();
            return compare(y, ref.y, s.k);
        }));
    }
    results.push_back(attempt("grad_input_" + base, [&] {
        auto gx = nans({s.batch, s.inFeatures});
        cuda::condensedGradInput(view, gyd.data_ptr<float>(), s.batch, gx.data_ptr<float>(), nullptr);
        torch::cuda::synchronize();
        return compare(gx, ref.gx, s.rows);
    }));
    results.push_back(attempt("grad_values_" + base, [&] {
        auto gv = nans({s.rows, s.k});
        cuda::condensedGradValues(view, xd.data_ptr<float>(), gyd.data_ptr<float>(), s.batch, gv.data_ptr<float>(),
                                  nullptr);
        torch::cuda::synchronize();
        return compare(gv, ref.gv, s.batch);
    }));
}

// The tile width follows the batch and inFeatures (tileColsFor): the tiled grad kernels at 8 columns and any
// kernel at 32 columns over several feature phases run only under SRIGL_CUDA_TILE_COLS=8 / =32, read once per
// process, so run srigl-cuda-checks once more with each of those to cover them.
std::vector<Shape> shapes() {
    std::vector<Shape> list;
    for (int64_t batch : {1, 2, 7, 33}) list.push_back({1, 5, 1, batch, true});        // one input, k = 1
    for (int64_t batch : {1, 12, 33}) list.push_back({3, 4, 3, batch, false});         // k = inFeatures
    for (int64_t batch : {7, 9, 33, 256}) list.push_back({257, 19, 26, batch, true, true, true});
    list.push_back({257, 19, 26, 33, false, false, false});
    list.push_back({257, 1, 257, 1000, true});                                          // k = inFeatures, one row
    list.push_back({257, 19, 26, 0, true}); // empty batch: y and gx empty, gv all zeros
    for (int64_t batch : {1, 2, 256}) list.push_back({3072, 768, 307, batch, true, true, true}); // the 90% target
    list.push_back({3072, 768, 307, 1000, false});
    list.push_back({3072, 768, 31, 33, true});                                          // 99% sparse
    list.push_back({3072, 0, 1, 7, true});                                              // no rows
    list.push_back({3072, 0, 1, 33, true});
    list.push_back({20000, 64, 2000, 17, true});       // several feature phases, int16 indices
    list.push_back({32768, 8, 32768, 3, true, false}); // int16 up to the last representable input, k = in
    list.push_back({40000, 8, 300, 20, false}); // one row chunk over many phases: tiled grad_input stores, no atomics
    for (int64_t batch : {2, 33}) list.push_back({40000, 40, 400, batch, false, true, true}); // int32 indices
    return list;
}

// Malformed views must throw std::invalid_argument before any launch.
CheckResult argumentErrors() {
    return attempt("argument_errors", [] {
        kernels::CondensedView view;
        view.rows = 4;
        view.k = 2;
        view.inFeatures = 8;
        float* dummy = reinterpret_cast<float*>(16);
        std::string missing;
        auto expectInvalid = [&](const char* what, const std::function<void()>& fn) {
            try {
                fn();
                missing += std::string(what) + " did not throw; ";
            } catch (const std::invalid_argument&) {
            }
        };
        expectInvalid("null values", [&] { cuda::condensedForward(view, dummy, 1, dummy, nullptr); });
        view.values = dummy;
        view.indices = dummy;
        view.k = 0;
        expectInvalid("k = 0", [&] { cuda::condensedGradInput(view, dummy, 1, dummy, nullptr); });
        view.k = 2;
        expectInvalid("negative batch", [&] { cuda::condensedGradValues(view, dummy, dummy, -1, dummy, nullptr); });
        view.rows = -1;
        expectInvalid("negative rows", [&] { cuda::condensedForward(view, dummy, 1, dummy, nullptr); });
        return missing;
    });
}

// The benchmark's biggest case must run: batch 2048 through 3072 -> 768 at 90% and 99%.
CheckResult timingSanity(int64_t k) {
    return attempt("timing_batch2048_k" + std::to_string(k), [k] {
        const Shape s{3072, 768, k, 2048, true};
        torch::Generator gen = at::detail::createCPUGenerator(7);
        const Layer cpu = makeLayer(s, gen);
        Layer dev{cpu.values.to(torch::kCUDA), cpu.indices.to(torch::kCUDA), cpu.bias.to(torch::kCUDA)};
        const auto view = viewOf(s, dev);
        const auto x = torch::randn({s.batch, s.inFeatures}, torch::TensorOptions().device(torch::kCUDA));
        const auto gy = torch::randn({s.batch, s.rows}, torch::TensorOptions().device(torch::kCUDA));
        auto y = nans({s.batch, s.rows});
        auto gx = nans({s.batch, s.inFeatures});
        auto gv = nans({s.rows, s.k});
        cuda::EventTimer timer;
        std::ostringstream out;
        for (int round = 0; round < 2; ++round) { // the first round warms up
            out.str("");
            timer.start(nullptr);
            cuda::condensedForward(view, x.data_ptr<float>(), s.batch, y.data_ptr<float>(), nullptr);
            out << "forward " << timer.stopMs(nullptr) << " ms";
            timer.start(nullptr);
            cuda::condensedGradInput(view, gy.data_ptr<float>(), s.batch, gx.data_ptr<float>(), nullptr);
            out << ", grad_input " << timer.stopMs(nullptr) << " ms";
            timer.start(nullptr);
            cuda::condensedGradValues(view, x.data_ptr<float>(), gy.data_ptr<float>(), s.batch, gv.data_ptr<float>(),
                                      nullptr);
            out << ", grad_values " << timer.stopMs(nullptr) << " ms";
        }
        torch::cuda::synchronize();
        const bool finite = torch::isfinite(y).all().item<bool>() && torch::isfinite(gx).all().item<bool>() &&
                            torch::isfinite(gv).all().item<bool>();
        // A passing timing check still reports its times on stdout.
        std::printf("  %s (%s)\n", out.str().c_str(), cuda::deviceName(0).c_str());
        return finite ? std::string() : "non-finite output: " + out.str();
    });
}

// What the engine calls rather than the raw kernels: the autograd function (condensed training) and
// CondensedLinear (inference) on CUDA tensors must take the kernels and agree with the CPU path.
CheckResult autogradMatchesTheCpu(int64_t batch) {
    return attempt("autograd_cuda_equals_cpu_batch" + std::to_string(batch), [batch] {
        const Shape s{300, 130, 29, batch, true};
        torch::Generator gen = at::detail::createCPUGenerator(11 + static_cast<uint64_t>(batch));
        const Layer layer = makeLayer(s, gen);
        const auto x = torch::randn({s.batch, s.inFeatures}, gen);
        const auto gy = torch::randn({s.batch, s.rows}, gen);
        auto run = [&](const torch::Device& device) {
            auto xd = x.to(device).requires_grad_(true);
            auto v = layer.values.to(device).requires_grad_(true);
            auto b = layer.bias.to(device).requires_grad_(true);
            auto y = condensedLinear(xd, v, layer.indices.to(device), b);
            y.backward(gy.to(device));
            return std::vector<torch::Tensor>{y.detach().cpu(), xd.grad().cpu(), v.grad().cpu(), b.grad().cpu()};
        };
        const auto cpu = run(torch::kCPU), gpu = run(torch::kCUDA);
        const char* names[] = {"y", "grad x", "grad values", "grad bias"};
        for (size_t i = 0; i < cpu.size(); ++i) {
            const double scale = std::max(cpu[i].abs().max().item<double>(), 1e-30);
            const double error = (gpu[i] - cpu[i]).abs().max().item<double>() / scale;
            if (!(error <= 1e-5)) return std::string(names[i]) + " differs by " + std::to_string(error);
        }
        CondensedLinear c;
        c.inFeatures = s.inFeatures;
        c.outFeatures = s.rows;
        c.k = s.k;
        c.values = layer.values;
        c.indices = layer.indices;
        c.bias = layer.bias;
        const auto yCpu = c.forward(x);
        const auto yGpu = c.to(torch::kCUDA).forward(x.to(torch::kCUDA)).cpu();
        const double error = (yGpu - yCpu).abs().max().item<double>() / std::max(yCpu.abs().max().item<double>(), 1e-30);
        return error <= 1e-5 ? std::string() : "CondensedLinear::forward differs by " + std::to_string(error);
    });
}

} // namespace

std::string cudaChecksSkipReason() {
    if (!cuda::kernelsBuilt()) return "this build has no CUDA kernels (SRIGL_HAVE_CUDA off)";
    if (!torch::cuda::is_available()) return "no CUDA device visible to LibTorch";
    return "";
}

std::vector<CheckResult> runCudaChecks() {
    std::vector<CheckResult> results;
    results.push_back(argumentErrors());
    uint64_t seed = 1;
    for (const Shape& s : shapes()) {
        try {
            checkShape(s, seed++, results);
        } catch (const std::exception& e) { // the reference or the copies failed
            results.push_back({"setup_" + describe(s), false, std::string("threw: ") + e.what()});
        }
    }
    for (int64_t batch : {1, 5, 64, 300}) results.push_back(autogradMatchesTheCpu(batch));
    results.push_back(timingSanity(307));
    results.push_back(timingSanity(31));
    return results;
}

} // namespace srigl::tests
