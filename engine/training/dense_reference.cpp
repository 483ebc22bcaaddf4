// The dense twin of a run's model, timed: built for its shapes first (a size check that costs
// nothing), then allocated, initialised from its own generator and stepped on random data.
#include "engine/training/dense_reference.hpp"

#include "engine/models/sparse_model.hpp"
#include "engine/training/loss.hpp"
#include "engine/training/optimizer.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace srigl {
namespace {

std::atomic<int64_t> gDefaultMemoryLimit{-1};

// The twin draws from its own generator: a run's determinism never depends on whether it measured.
constexpr uint64_t kTwinSeedMix = 0xD1B54A32D192ED03ull;
// Small: the few timed steps must not blow random weights up (same arithmetic, any lr).
constexpr double kTwinLr = 1e-6;

InputShape inputOf(const DenseReferenceShape& s) { return InputShape{s.channels, s.height, s.width, s.classes}; }

int64_t stateTensorsPerParameter(const RunConfig& c) {
    if (c.optimizer == "adamw") return 2; // exp_avg, exp_avg_sq
    return c.momentum != 0.0 ? 1 : 0;     // SGD's momentum buffer
}

std::string gigabytes(int64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(bytes) / 1e9);
    return buf;
}

int64_t product(const std::vector<int64_t>& dims) {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
}

} // namespace

int64_t memAvailableBytes() {
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("MemAvailable:", 0) != 0) continue;
        std::istringstream fields(line.substr(13));
        int64_t kb = -1;
        fields >> kb;
        return kb >= 0 ? kb * 1024 : -1;
    }
    return -1;
}

void setDefaultDenseReferenceMemoryLimit(int64_t bytes) { gDefaultMemoryLimit = bytes; }

int64_t denseTwinBytes(const RunConfig& config, const DenseReferenceShape& shape) {
    torch::NoGradGuard noGrad;
    DeferredWeights shapesOnly;
    auto model = buildModel(config, inputOf(shape));
    const int64_t floatBytes = 4 * (2 + stateTensorsPerParameter(config)); // value, gradient, optimizer state
    int64_t bytes = 0;
    // Sparse layers' weights are empty here (shapes only); every other parameter is allocated.
    // (A torchscript model's sparse weights are allocated even here: counted once, with the layer.)
    std::set<const void*> counted;
    for (const auto& l : model->sparseLayers()) {
        const int64_t n = product(l.layer->weightShape());
        bytes += n * floatBytes + n * 5; // + the bool mask and its float factor
        counted.insert(l.layer->weight.unsafeGetTensorImpl());
        counted.insert(l.layer->mask.unsafeGetTensorImpl());
    }
    for (const auto& p : model->parameters())
        if (!counted.count(p.unsafeGetTensorImpl())) bytes += p.numel() * floatBytes;
    for (const auto& b : model->buffers())
        if (!counted.count(b.unsafeGetTensorImpl())) bytes += b.numel() * static_cast<int64_t>(b.element_size());
    return bytes;
}

DenseReference measureDenseReference(const RunConfig& config, const DenseReferenceShape& shape,
                                     const DenseReferenceOptions& options) {
    DenseReference r;
    try {
        r.estimatedBytes = denseTwinBytes(config, shape);
        int64_t limit = options.memoryLimitBytes >= 0 ? options.memoryLimitBytes : gDefaultMemoryLimit.load();
        std::string limitText;
        if (limit >= 0) {
            limitText = "the limit of " + gigabytes(limit);
        } else if (const int64_t available = memAvailableBytes(); available >= 0) {
            limit = available / 2;
            limitText = "half of the " + gigabytes(available) + " available";
        }
        if (limit >= 0 && r.estimatedBytes > limit) {
            r.skipped = "dense twin would need " + gigabytes(r.estimatedBytes) +
                        " (weights, gradients, optimizer state, masks), more than " + limitText;
            return r;
        }

        const torch::Device device(config.device == "cuda" ? torch::kCUDA : torch::kCPU);
        std::shared_ptr<SparseModelImpl> model;
        {
            DeferredWeights initialisedBelow;
            model = buildModel(config, inputOf(shape));
        }
        auto gen = at::make_generator<at::CPUGeneratorImpl>(config.seed ^ kTwinSeedMix);
        {
            torch::NoGradGuard noGrad;
            for (const auto& l : model->sparseLayers()) {
                l.layer->allocateDense();
                const double fanIn = static_cast<double>(l.layer->fanIn());
                l.layer->weight.copy_(torch::randn(l.layer->weightShape(), gen) * std::sqrt(2.0 / fanIn));
            }
        }
        model->to(device);
        for (const auto& l : model->sparseLayers()) l.layer->syncMaskFactor();

        std::vector<torch::Tensor> params;
        for (auto& p : model->parameters()) params.push_back(p);
        Optimizer optimizer(params, optimizerSettingsFor(config));

        const torch::Tensor x = torch::randn({shape.batch, shape.channels, shape.height, shape.width}, gen).to(device);
        const torch::Tensor y = torch::randint(shape.classes, {shape.batch}, gen, torch::kLong).to(device);
        auto step = [&] {
            model->train();
            optimizer.zeroGrad();
            auto loss = crossEntropy(model->forward(x), y, config.label_smoothing);
            (void)loss.item<double>(); // the trainer reads the loss every step too
            loss.backward();
            optimizer.step(kTwinLr);
            if (device.is_cuda()) torch::cuda::synchronize();
        };
        step(); // warm-up: first-touch allocations, kernel selection
        std::vector<double> ms;
        for (int i = 0; i < std::max(1, options.steps); ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            step();
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        const size_t n = ms.size();
        r.stepMs = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
        r.steps = static_cast<int>(n);
        r.measured = true;
    } catch (const std::exception& e) {
        // A reference is a convenience: a twin that cannot be built or run never fails the run.
        r = DenseReference{false, 0.0, 0, r.estimatedBytes, std::string("dense twin failed: ") + e.what()};
    }
    return r;
}

} // namespace srigl
