// Training-step benchmarks: one layer's SGD step three ways, and whole models through the trainer.
#include "engine/inference/training_bench.hpp"

#include "engine/errors.hpp"
#include "engine/inference/side_by_side.hpp"
#include "engine/kernels/condensed_autograd.hpp"
#include "engine/kernels/condensed_conv_autograd.hpp"
#include "engine/models/condensed_weights.hpp"
#include "engine/runtime/freed_memory.hpp"
#include "engine/training/trainer_internals.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

namespace srigl {
namespace {

constexpr double kLr = 1e-6; // small: hundreds of timed steps must not change what is computed

// SGD with momentum on one parameter, as the trainer's optimizer does it (buffer, then the step).
void sgdStep(torch::Tensor& param, torch::Tensor& buffer) {
    torch::NoGradGuard noGrad;
    buffer.mul_(0.9).add_(param.grad());
    param.add_(buffer, -kLr);
    param.mutable_grad().zero_();
}

double relativeError(const torch::Tensor& a, const torch::Tensor& reference) {
    const double scale = std::max(reference.abs().max().item<double>(), 1e-30);
    return (a.to(torch::kDouble) - reference.to(torch::kDouble)).abs().max().item<double>() / scale;
}

int64_t bytesOf(const torch::Tensor& t) { return t.defined() ? t.numel() * static_cast<int64_t>(t.element_size()) : 0; }

// What a trainer holds between steps: parameters, their gradients and optimizer state, buffers
// (masks, batch-norm statistics), condensed indices and accumulated dense gradients.
int64_t stateBytes(Trainer& trainer) {
    auto& s = trainer.internals();
    int64_t bytes = 0;
    const auto& params = s.optimizer->params();
    for (size_t i = 0; i < params.size(); ++i) {
        bytes += bytesOf(params[i]) + bytesOf(params[i].grad());
        for (const auto& state : s.optimizer->state(i)) bytes += bytesOf(state);
    }
    for (const auto& b : s.model->buffers()) bytes += bytesOf(b);
    for (const auto& st : s.layers) {
        bytes += bytesOf(st.gradSum);
        if (st.layer->isCondensed()) bytes += bytesOf(st.layer->condensed->indices) + bytesOf(st.layer->condensed->alive);
    }
    return bytes;
}

// Linux keeps the process's peak resident set (VmHWM); writing 5 to clear_refs (Linux 4.0+) resets
// it to the current RSS. False, with the reason, where that is not possible.
bool resetPeakRss(std::string& why) {
    std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (!f) {
        why = std::string("/proc/self/clear_refs is not writable (") + std::strerror(errno) +
              "): the peak RSS of one variant cannot be told from the process's";
        return false;
    }
    const bool written = std::fputs("5", f) >= 0;
    if (std::fclose(f) != 0 || !written) {
        why = "writing 5 to /proc/self/clear_refs failed (Linux 4.0+ resets the peak RSS that way)";
        return false;
    }
    return true;
}

int64_t peakRssBytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
    return -1;
}

std::string modelLabel(const RunConfig& c) {
    if (c.model != "mlp") return c.model;
    std::string label = "mlp in-";
    for (char ch : c.hidden) label += ch == ',' ? '-' : ch;
    return label + "-out";
}

} // namespace

TrainingLayerTiming benchTrainingLayer(const MaskedLayer& layer, int64_t batch, const BenchSettings& settings,
                                       const TrainingConvInput* conv) {
    if (settings.device != "cpu") throw InferenceError("the training benchmark runs on the CPU (the condensed kernels' device)");
    const KeptFreedMemory kept; // as a run keeps them (trainer.cpp): each step reuses the last one's blocks
    const torch::Tensor mask = layer.mask.to(torch::kBool).view({layer.mask.size(0), -1});
    const torch::Tensor w0 = (layer.weight.detach().to(torch::kFloat).view_as(mask) * mask).contiguous();
    const CondensedWeights c = condenseLayer(w0, mask); // throws for a mask that is not constant fan-in
    const int64_t out = w0.size(0), in = w0.size(1);
    std::vector<int64_t> xShape{batch, in}, yShape{batch, out}, weightShape{out, in};
    if (conv) {
        if (conv->channels * conv->kernel * conv->kernel != in)
            throw InferenceError("the convolution's channels * kernel^2 must equal the layer's fan-in");
        if (conv->stride < 1) throw InferenceError("the convolution's stride must be >= 1");
        if (conv->kernel > conv->height + 2 * conv->padding || conv->kernel > conv->width + 2 * conv->padding)
            throw InferenceError("the kernel is larger than the padded image");
        const int64_t outH = (conv->height + 2 * conv->padding - conv->kernel) / conv->stride + 1;
        const int64_t outW = (conv->width + 2 * conv->padding - conv->kernel) / conv->stride + 1;
        xShape = {batch, conv->channels, conv->height, conv->width};
        yShape = {batch, out, outH, outW};
        weightShape = {out, conv->channels, conv->kernel, conv->kernel};
    }
    auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
    const torch::Tensor xData = torch::randn(xShape, gen);
    const torch::Tensor gy = torch::randn(yShape, gen);
    const torch::Tensor b0 = layer.bias.defined() ? layer.bias.detach().to(torch::kFloat).contiguous() : torch::zeros({out});
    const torch::Tensor maskFactor = mask.to(torch::kFloat);

    struct Side {
        torch::Tensor weight, bias, x, weightBuffer, biasBuffer;
    };
    auto makeSide = [&](const torch::Tensor& w) {
        Side side;
        side.weight = w.clone().set_requires_grad(true);
        side.bias = b0.clone().set_requires_grad(true);
        side.x = xData.clone().set_requires_grad(true);
        side.weightBuffer = torch::zeros_like(w);
        side.biasBuffer = torch::zeros_like(b0);
        return side;
    };
    Side dense = makeSide(w0), masked = makeSide(w0), condensed = makeSide(c.values.detach());
    const torch::Tensor indices = c.indices;

    auto forwardBackward = [&](Side& side, bool isCondensed) {
        torch::Tensor y;
        if (conv && isCondensed)
            y = condensedConv2d(side.x, side.weight, indices, side.bias, conv->kernel, conv->kernel, conv->padding,
                                conv->stride, settings.isa, settings.threads);
        else if (conv)
            y = torch::conv2d(side.x, side.weight.view(weightShape), side.bias, conv->stride, conv->padding);
        else if (isCondensed)
            y = condensedLinear(side.x, side.weight, indices, side.bias, settings.isa, settings.threads);
        else
            y = torch::linear(side.x, side.weight, side.bias);
        y.backward(gy);
        return y;
    };
    // Agreement first: outputs, input gradients and the kept weights' gradients.
    {
        const torch::Tensor yMasked = forwardBackward(masked, false).detach();
        const torch::Tensor yCondensed = forwardBackward(condensed, true).detach();
        const double tolerance = settings.tolerance * 10; // sums of a different order, forward and backward
        const double errors[] = {relativeError(yCondensed, yMasked),
                                 relativeError(condensed.x.grad(), masked.x.grad()),
                                 relativeError(condensed.weight.grad(), gatherCondensed(c, masked.weight.grad()))};
        for (double e : errors)
            if (!(e <= tolerance))
                throw InferenceError("condensed training step differs from masked dense by a relative error of " +
                                     std::to_string(e) + " (allowed " + std::to_string(tolerance) + "); nothing was timed");
        for (Side* side : {&masked, &condensed}) {
            side->weight.mutable_grad().zero_();
            side->bias.mutable_grad().zero_();
            side->x.mutable_grad().zero_();
        }
    }

    auto step = [&](Side& side, bool isCondensed, bool masks) {
        torch::Tensor y = forwardBackward(side, isCondensed);
        if (masks) side.weight.mutable_grad().mul_(maskFactor);
        sgdStep(side.weight, side.weightBuffer);
        sgdStep(side.bias, side.biasBuffer);
        if (masks) {
            torch::NoGradGuard noGrad;
            side.weight.mul_(maskFactor);
        }
        side.x.mutable_grad() = torch::Tensor(); // handed on, as a hidden layer's grad_input is
        return y;
    };
    Variant vDense{"dense", [&] { return step(dense, false, false); }, {}};
    Variant vMasked{"masked_dense", [&] { return step(masked, false, true); }, {}};
    Variant vCondensed{"condensed", [&] { return step(condensed, true, false); }, {}};
    std::vector<Variant*> variants{&vDense, &vMasked, &vCondensed};
    TrainingLayerTiming t;
    t.reps = timeSideBySide(variants, settings);
    t.inFeatures = in;
    t.outFeatures = out;
    t.k = c.k();
    t.batch = batch;
    t.sparsity = 1.0 - static_cast<double>(mask.sum().item<int64_t>()) / static_cast<double>(mask.numel());
    t.denseUs = median(vDense.samples);
    t.maskedDenseUs = median(vMasked.samples);
    t.condensedUs = median(vCondensed.samples);
    return t;
}

TrainingModelTiming benchTrainingModel(const RunConfig& config, int steps, const BenchSettings& settings) {
    if (config.device != "cpu") throw ConfigError("device", "the training benchmark runs on the CPU");
    if (steps < 1) throw ConfigError("", "the training benchmark needs at least one timed step");
    struct Side {
        std::string variant;
        std::unique_ptr<Trainer> trainer;
        std::vector<double> stepMs, updateMs;
    };
    auto configFor = [&](const std::string& variant) {
        RunConfig c = config;
        c.checkpoint.clear();
        c.checkpoint_every = 0;
        c.log_every = 1 << 30;
        c.eval_every = int64_t{1} << 40; // no evaluation inside a timed step
        c.dense_reference_steps = 0;      // the dense variant is the reference here
        if (variant == "dense") c.method = "dense";
        else if (variant == "masked_dense") c.sparse_compute = "masked_dense";
        else if (variant == "auto") c.sparse_compute = "auto";
        else c.sparse_compute = hasConstantFanIn(config) ? "condensed" : "auto";
        return c;
    };
    std::vector<Side> sides;
    for (const char* v : {"dense", "masked_dense", "condensed", "auto"}) sides.push_back({v, std::make_unique<Trainer>(configFor(v)), {}, {}});
    const int warmup = std::max(1, settings.warmup);
    for (int r = 0; r < warmup + steps; ++r) {
        if (settings.cancel && settings.cancel->load()) throw BenchCancelled();
        for (size_t i = 0; i < sides.size(); ++i) {
            Side& side = sides[(i + static_cast<size_t>(r)) % sides.size()];
            const auto t0 = std::chrono::steady_clock::now();
            if (!side.trainer->trainStep())
                throw ConfigError("max_steps", "the run ends before the benchmark's " + std::to_string(warmup + steps) +
                                                   " steps; raise epochs or max_steps");
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            if (r < warmup) continue;
            auto& internals = side.trainer->internals();
            const bool update = internals.schedule->isUpdateStep(internals.step) && internals.config.method != "dense";
            (update ? side.updateMs : side.stepMs).push_back(ms);
        }
    }
    TrainingModelTiming out;
    out.model = modelLabel(config);
    out.batch = config.batch_size;
    out.sparsity = config.method == "dense" ? 0.0 : config.sparsity;
    for (Side& side : sides) {
        TrainingVariantTiming v;
        v.variant = side.variant;
        for (const auto& l : side.trainer->layerStats()) v.compute += (v.compute.empty() ? "" : " ") + l.name + "=" + l.compute;
        v.stepMs = median(side.stepMs);
        v.updateMs = median(side.updateMs);
        v.steps = static_cast<int>(side.stepMs.size());
        v.updates = static_cast<int>(side.updateMs.size());
        v.stateBytes = stateBytes(*side.trainer);
        out.variants.push_back(v);
    }
    // Peak RSS: each variant alone (the others freed and their memory handed back), reset once its
    // trainer is built, over the steps up to its first ordinary step and, if the timing saw one, its
    // first mask update.
    for (Side& side : sides) side.trainer.reset();
    for (size_t i = 0; i < sides.size() && out.peakRssNote.empty(); ++i) {
        if (settings.cancel && settings.cancel->load()) throw BenchCancelled();
        returnFreedMemory();
        auto trainer = std::make_unique<Trainer>(configFor(sides[i].variant));
        returnFreedMemory(); // what building freed (a condensed layer starts dense)
        if (!resetPeakRss(out.peakRssNote)) break;
        bool sawStep = false, sawUpdate = out.variants[i].updates == 0;
        for (int r = 0; r < warmup + steps && !(sawStep && sawUpdate); ++r) {
            if (!trainer->trainStep()) break;
            auto& internals = trainer->internals();
            const bool update = internals.schedule->isUpdateStep(internals.step) && internals.config.method != "dense";
            if (r < warmup) continue;
            (update ? sawUpdate : sawStep) = true;
        }
        out.variants[i].peakRssBytes = peakRssBytes();
    }
    return out;
}

} // namespace srigl
