// Side-by-side timing of dense, CSR, structured and condensed variants of the same layer.
#include "engine/inference/layer_bench.hpp"

#include "engine/kernels/cuda/condensed_cuda.hpp"
#include "engine/errors.hpp"
#include "engine/inference/side_by_side.hpp"
#include "engine/training/memory_estimate.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>

namespace srigl {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double relativeError(const torch::Tensor& y, const torch::Tensor& reference) {
    const double scale = std::max(reference.abs().max().item<double>(), 1e-30);
    return (y.to(torch::kDouble) - reference.to(torch::kDouble)).abs().max().item<double>() / scale;
}

void checkAgainstDense(const std::string& what, double error, const BenchSettings& s) {
    if (!(error <= s.tolerance))
        throw InferenceError(what + " differs from dense by a relative error of " + std::to_string(error) +
                             " (allowed " + std::to_string(s.tolerance) + "); nothing was timed");
}

torch::Device deviceOf(const BenchSettings& s) {
    if (s.device == "cpu") return torch::kCPU;
    if (s.device == "cuda") {
        if (!torch::cuda::is_available())
            throw InferenceError("device cuda: this LibTorch build has no CUDA or no GPU is visible");
        return torch::kCUDA;
    }
    throw InferenceError("unknown device '" + s.device + "' (expected cpu or cuda)");
}

} // namespace

int64_t layerBenchBytesPerEntry(LayerBenchKind kind) { return kind == LayerBenchKind::Training ? 37 : 13; }

void requireLayerBenchFits(int64_t in, int64_t out, LayerBenchKind kind) {
    const std::optional<AvailableMemory> available = availableMemory();
    if (!available || in < 1 || out < 1) return;
    // In long double: a hostile --in and --out must not overflow the product.
    const long double bytes = static_cast<long double>(in) * static_cast<long double>(out) *
                              static_cast<long double>(layerBenchBytesPerEntry(kind));
    if (bytes <= static_cast<long double>(available->bytes)) return;
    const uint64_t shown = bytes >= static_cast<long double>(std::numeric_limits<uint64_t>::max())
                               ? std::numeric_limits<uint64_t>::max()
                               : static_cast<uint64_t>(bytes);
    throw InferenceError("a " + std::to_string(in) + " x " + std::to_string(out) + " layer needs at least " +
                         formatMemorySize(shown) + " to be benched against its dense form" +
                         (kind == LayerBenchKind::Training ? " (dense and masked-dense training steps)" : "") +
                         ", more than the " + formatMemorySize(available->bytes) + " available (" + available->source +
                         "); a layer whose dense form does not fit is timed by training it condensed (srigl train, "
                         "e.g. --config resources/configs/huge_mlp_99.json)");
}

MaskedLayer randomConstantFanInLayer(int64_t in, int64_t out, double sparsity, double ablatedFraction, uint64_t seed) {
    if (in < 1 || out < 1) throw InferenceError("a layer needs at least one input and one output");
    if (!(sparsity >= 0.0 && sparsity < 1.0)) throw InferenceError("sparsity must lie in [0, 1)");
    const int64_t k = std::clamp<int64_t>(std::llround((1.0 - sparsity) * static_cast<double>(in)), 1, in);
    torch::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    // k random inputs per neuron: the k smallest of a row of uniform keys.
    torch::Tensor keys = torch::rand({out, in}, gen);
    torch::Tensor chosen = std::get<1>(keys.topk(k, 1, false));
    torch::Tensor mask = torch::zeros({out, in}, torch::kBool).scatter_(1, chosen, true);
    const int64_t ablated = std::clamp<int64_t>(std::llround(ablatedFraction * static_cast<double>(out)), 0, out - 1);
    if (ablated > 0) {
        torch::Tensor rows = torch::randperm(out, gen).slice(0, 0, ablated);
        mask.index_fill_(0, rows, false);
    }
    MaskedLayer layer;
    layer.name = "linear " + std::to_string(in) + "x" + std::to_string(out);
    layer.weight = torch::randn({out, in}, gen).mul_(std::sqrt(2.0 / static_cast<double>(k))) * mask;
    layer.bias = torch::randn({out}, gen).mul_(0.1);
    layer.mask = mask;
    return layer;
}

LayerTiming benchLayer(const MaskedLayer& layer, int64_t batch, const BenchSettings& s) {
    torch::NoGradGuard noGrad;
    if (batch < 1) throw InferenceError("batch must be at least 1");
    const torch::Device device = deviceOf(s);
    CondensedLinear condensed = condenseLinear(layer.weight, layer.mask, layer.bias, layer.name);
    const int64_t out = layer.weight.size(0), in = layer.weight.numel() / out;
    torch::Tensor w = (layer.weight.reshape({out, in}) * layer.mask.reshape({out, in}).to(torch::kFloat)).to(device);
    torch::Tensor b = layer.bias.defined() ? layer.bias.to(device, torch::kFloat) : torch::zeros({out}, w.options());
    torch::Tensor rowIds = torch::tensor(condensed.rowIds, torch::kLong).to(device);
    torch::Tensor wRows = w.index_select(0, rowIds).contiguous();
    torch::Tensor bRows = b.index_select(0, rowIds).contiguous();
    const CondensedLinear onDevice = condensed.to(device);
    torch::Tensor x = torch::randn({batch, in}, at::make_generator<at::CPUGeneratorImpl>(uint64_t(batch) * 7919 + 17))
                          .to(device);

    LayerTiming t;
    t.layer = layer.name;
    t.inFeatures = in;
    t.outFeatures = out;
    t.rows = condensed.rows();
    t.k = condensed.k;
    t.batch = batch;
    t.sparsity = 1.0 - static_cast<double>(condensed.k) / static_cast<double>(in);

    Variant dense{"dense", [&] { return torch::linear(x, w, b); }, {}};
    Variant structured{"structured", [&] { return torch::linear(x, wRows, bRows); }, {}};
    Variant condensedRun{"condensed", [&] { return onDevice.forward(x, s.isa, s.threads); }, {}};
    // On a GPU both CUDA kernels are timed as well, so the shape rule's choice can be checked.
    const bool cudaKernels = device.is_cuda() && cuda::kernelsBuilt();
    Variant warpRun{"condensed-warp", [&] { return onDevice.forwardCuda(x, cuda::ForwardVariant::WarpPerRow); }, {}};
    Variant tiledRun{"condensed-tiled", [&] { return onDevice.forwardCuda(x, cuda::ForwardVariant::Tiled); }, {}};
    // CSR computes W x^T, so the batch is transposed in and out: part of the cost of using it.
    torch::Tensor csr;
    Variant csrRun{"csr", [&] { return torch::addmm(b.unsqueeze(1), csr, x.t()).t(); }, {}};

    const torch::Tensor reference = dense.run().index_select(1, rowIds);
    t.structuredError = relativeError(structured.run(), reference);
    checkAgainstDense("structured", t.structuredError, s);
    t.condensedError = relativeError(condensedRun.run(), reference);
    checkAgainstDense("condensed", t.condensedError, s);
    std::vector<Variant*> variants{&dense, &structured, &condensedRun};
    if (cudaKernels) {
        t.cudaKernel = cuda::toString(cuda::chooseForwardVariant(batch, condensed.rows(), condensed.k, in));
        checkAgainstDense("condensed (warp per row)", relativeError(warpRun.run(), reference), s);
        checkAgainstDense("condensed (tiled)", relativeError(tiledRun.run(), reference), s);
        variants.push_back(&warpRun);
        variants.push_back(&tiledRun);
    }
    try {
        csr = w.to_sparse_csr();
        t.csrError = relativeError(csrRun.run().index_select(1, rowIds), reference);
        checkAgainstDense("csr", t.csrError, s);
        variants.push_back(&csrRun);
    } catch (const c10::Error& e) {
        // Some LibTorch builds have no sparse CSR matmul on this device: say so instead of failing.
        t.csrNote = std::string(e.what_without_backtrace()).substr(0, 200);
        t.csrError = kNaN;
    }
    t.reps = timeSideBySide(variants, s);
    t.denseUs = median(dense.samples);
    t.structuredUs = median(structured.samples);
    t.condensedUs = median(condensedRun.samples);
    t.csrUs = csrRun.samples.empty() ? kNaN : median(csrRun.samples);
    t.warpPerRowUs = cudaKernels ? median(warpRun.samples) : kNaN;
    t.tiledUs = cudaKernels ? median(tiledRun.samples) : kNaN;
    return t;
}

LayerTiming benchCondensedOnly(const CondensedLinear& layer, int64_t batch, const BenchSettings& s) {
    torch::NoGradGuard noGrad;
    if (batch < 1) throw InferenceError("batch must be at least 1");
    if (s.device != "cpu") throw InferenceError(layer.name + ": a layer beyond its dense form is timed on the CPU only");
    torch::Tensor x = torch::randn({batch, layer.inFeatures},
                                   at::make_generator<at::CPUGeneratorImpl>(uint64_t(batch) * 7919 + 17));
    LayerTiming t;
    t.layer = layer.name;
    t.inFeatures = layer.inFeatures;
    t.outFeatures = layer.outFeatures;
    t.rows = layer.rows();
    t.k = layer.k;
    t.batch = batch;
    t.sparsity = 1.0 - static_cast<double>(layer.k) / static_cast<double>(layer.inFeatures);
    Variant condensedRun{"condensed", [&] { return layer.forward(x, s.isa, s.threads); }, {}};
    const torch::Tensor y = condensedRun.run();
    // The reference gathers [batch, rows, k] floats: in blocks of rows that keep it within 2^24.
    const int64_t perBlock = std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(1, batch * layer.k));
    double worst = 0.0, scale = 1e-30;
    for (int64_t r0 = 0; r0 < layer.rows(); r0 += perBlock) {
        const int64_t n = std::min(perBlock, layer.rows() - r0);
        CondensedLinear part = layer;
        part.values = layer.values.narrow(0, r0, n);
        part.indices = layer.indices.narrow(0, r0, n);
        part.bias = layer.bias.narrow(0, r0, n);
        const torch::Tensor reference = part.reference(x);
        scale = std::max(scale, reference.abs().max().item<double>());
        worst = std::max(worst, (y.narrow(1, r0, n).to(torch::kDouble) - reference.to(torch::kDouble)).abs().max().item<double>());
    }
    t.condensedError = worst / scale;
    checkAgainstDense("condensed (against LibTorch's gather)", t.condensedError, s);
    std::vector<Variant*> variants{&condensedRun};
    t.reps = timeSideBySide(variants, s);
    t.condensedUs = median(condensedRun.samples);
    t.denseUs = t.csrUs = t.structuredUs = t.csrError = t.structuredError = kNaN;
    t.warpPerRowUs = t.tiledUs = kNaN;
    return t;
}

std::vector<ModelLayerCase> classifierBenchLayers(SparseModelImpl& model) {
    std::vector<ModelLayerCase> out;
    for (const auto& named : model.sparseLayers())
        for (SparseLinearImpl* layer : model.classifier()) {
            if (named.layer != static_cast<SparseLayer*>(layer)) continue;
            ModelLayerCase c;
            c.layer.name = named.name;
            c.layer.bias = layer->bias.defined() ? layer->bias.detach() : torch::Tensor();
            if (layer->isCondensed()) {
                c.held = std::make_shared<const CondensedLinear>(condenseLinear(*layer->condensed, c.layer.bias, named.name));
            } else {
                c.layer.weight = layer->weight.detach();
                c.layer.mask = layer->mask;
            }
            out.push_back(std::move(c));
        }
    return out;
}

LayerTiming benchModelLayer(const ModelLayerCase& c, int64_t batch, const BenchSettings& s) {
    return c.held ? benchCondensedOnly(*c.held, batch, s) : benchLayer(c.layer, batch, s);
}

ModelTiming benchModel(const CondensedModel& condensed, const InputShape& shape, int64_t batch,
                       const BenchSettings& s, bool timeDense) {
    torch::NoGradGuard noGrad;
    if (s.device != "cpu") throw InferenceError("whole-model timing runs on the CPU only");
    auto& model = condensed.model();
    model.eval();
    torch::Tensor x = torch::randn({batch, shape.channels, shape.height, shape.width},
                                   at::make_generator<at::CPUGeneratorImpl>(uint64_t(batch) * 104729 + 3));
    Variant dense{"dense", [&] { return model.forward(x); }, {}};
    Variant fast{"condensed", [&] { return condensed.forward(x, s.isa, s.threads); }, {}};
    ModelTiming t;
    t.batch = batch;
    t.error = relativeError(fast.run(), dense.run());
    checkAgainstDense("the condensed model", t.error, s);
    std::vector<Variant*> variants{&fast};
    if (timeDense) variants.insert(variants.begin(), &dense);
    t.reps = timeSideBySide(variants, s);
    t.denseUs = timeDense ? median(dense.samples) : kNaN;
    t.condensedUs = median(fast.samples);
    return t;
}

std::string cpuModelName() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown CPU";
}

std::string machineName(const std::string& device) {
    if (device != "cuda") return cpuModelName();
    std::string gpu = "a GPU";
    if (cuda::kernelsBuilt()) gpu = cuda::deviceName(0); // the bench runs on LibTorch's default device
    return gpu + " (host " + cpuModelName() + ")";
}

std::string kernelDescription(const std::string& device, kernels::Isa isa) {
    if (device != "cuda") return kernels::toString(isa);
    return cuda::kernelsBuilt() ? "cuda (warp per row or tiled, by shape)" : "libtorch-ops";
}

} // namespace srigl
