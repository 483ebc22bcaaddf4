// The Studio's benchmark on the engine's benchLayer (Torch side of srigl_sessions).
#include "sessions/session/bench_job.hpp"

#include "engine/inference/layer_bench.hpp"
#include "engine/runtime/threading.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "sessions/store/store_error.hpp"
#include "sessions/store/store_retry.hpp"

#include <torch/torch.h>

#include <cmath>

namespace srigl::sessions {
namespace {

struct Case {
    ModelLayerCase layer;
    int64_t batch = 1;
};

void validate(const BenchJobSettings& s) {
    if (s.device != "cpu" && s.device != "cuda")
        throw std::invalid_argument("device: expected cpu or cuda, got '" + s.device + "'");
    if (s.device == "cuda" && !benchCudaAvailable())
        throw std::invalid_argument("device cuda: this LibTorch build has no CUDA or no GPU is visible");
    if (s.batches.empty()) throw std::invalid_argument("batches: give at least one batch size");
    for (int64_t b : s.batches)
        if (b <= 0) throw std::invalid_argument("batches: must be positive, got " + std::to_string(b));
    if (!(s.secondsPerVariant > 0.0 && s.secondsPerVariant <= 60.0))
        throw std::invalid_argument("seconds per variant: must be in (0, 60]");
    if (s.runId > 0) {
        if (s.dbPath.empty()) throw std::invalid_argument("benching a run's layers needs its database");
        return;
    }
    if (s.inFeatures <= 0 || s.outFeatures <= 0) throw std::invalid_argument("layer size: in and out must be positive");
    if (s.sparsities.empty()) throw std::invalid_argument("sparsities: give at least one sparsity");
    for (double sp : s.sparsities)
        if (!(sp >= 0.0 && sp < 1.0)) throw std::invalid_argument("sparsities: must be in [0, 1), got " + std::to_string(sp));
    if (!(s.ablatedFraction >= 0.0 && s.ablatedFraction < 1.0))
        throw std::invalid_argument("ablated fraction: must be in [0, 1)");
}

// The run's classifier layers (those the condensed format covers) as the trainer keeps them.
std::vector<Case> runCases(const BenchJobSettings& s) {
    RunStore store(s.dbPath, RunStore::Mode::ReadOnly);
    store.run(s.runId); // StoreError for an unknown id
    const auto last = store.lastCheckpoint(s.runId);
    if (!last) throw StoreError("run " + std::to_string(s.runId) + " has no checkpoint to take its weights from");
    // A layer whose dense form does not fit stays condensed and is timed condensed only.
    CheckpointModel loaded = loadCheckpointModel(last->second, BeyondDense::KeepCondensed);
    std::vector<Case> cases;
    for (const ModelLayerCase& layer : classifierBenchLayers(*loaded.model))
        for (int64_t batch : s.batches) cases.push_back({layer, batch});
    if (cases.empty()) throw StoreError("run " + std::to_string(s.runId) + " has no sparse classifier layers to bench");
    return cases;
}

} // namespace

bool benchCudaAvailable() { return torch::cuda::is_available(); }

std::vector<TimingRecord> runBenchJob(const BenchJobSettings& s, const std::function<void(const BenchJobProgress&)>& progress,
                                      const std::atomic<bool>* cancel) {
    validate(s);
    std::vector<Case> cases;
    if (s.runId > 0) {
        cases = runCases(s);
    } else {
        for (double sparsity : s.sparsities) {
            const MaskedLayer layer = randomConstantFanInLayer(s.inFeatures, s.outFeatures, sparsity, s.ablatedFraction, s.seed);
            for (int64_t batch : s.batches) cases.push_back({{layer, nullptr}, batch});
        }
    }

    BenchSettings settings;
    settings.device = s.device;
    settings.targetSeconds = s.secondsPerVariant;
    settings.cancel = cancel;
    // The Studio's process is shared with training: use the engine's thread pools as they are.
    const ThreadingInfo threading = currentThreading();
    TimingRecord machine;
    machine.runId = s.runId;
    machine.device = s.device;
    machine.threads = threading.torchThreads;
    machine.blas = threading.blas;
    machine.cpu = machineName(s.device);
    machine.kernel = kernelDescription(s.device, settings.isa);

    std::vector<TimingRecord> rows;
    const int64_t total = static_cast<int64_t>(cases.size());
    int64_t done = 0;
    for (const Case& c : cases) {
        if (cancel && cancel->load()) throw BenchJobCancelled();
        if (progress) progress({done, total, c.layer.layer.name + " batch " + std::to_string(c.batch)});
        LayerTiming t;
        try {
            t = benchModelLayer(c.layer, c.batch, settings);
        } catch (const BenchCancelled&) {
            throw BenchJobCancelled();
        }
        TimingRecord r = machine;
        r.layer = t.layer;
        r.inFeatures = t.inFeatures;
        r.outFeatures = t.outFeatures;
        r.batch = t.batch;
        r.sparsity = t.sparsity; // measured from the mask, also for a run's layers
        r.denseUs = t.denseUs;
        r.csrUs = t.csrUs;
        r.structuredUs = t.structuredUs;
        r.condensedUs = t.condensedUs;
        rows.push_back(std::move(r));
        ++done;
    }
    if (cancel && cancel->load()) throw BenchJobCancelled();
    if (progress) progress({done, total, "done"});
    if (!s.dbPath.empty()) {
        RunStore store(s.dbPath);
        // One transaction (all or nothing), retried while another process holds the lock: the
        // measurement took minutes.
        retryWhileItMayPass([&] { store.addTimings(rows); });
    }
    return rows;
}

} // namespace srigl::sessions
