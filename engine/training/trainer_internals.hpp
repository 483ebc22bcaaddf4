// The trainer's torch-level state, for the trainer itself and for tests that check invariants
// (masks, optimizer state) directly. Not for UI code.
#pragma once

#include "engine/data/batch_sampler.hpp"
#include "engine/data/dataset.hpp"
#include "engine/distributed/data_parallel.hpp"
#include "engine/models/sparse_model.hpp"
#include "engine/runtime/freed_memory.hpp"
#include "engine/sparsity/mask_update.hpp"
#include "engine/sparsity/nm_method.hpp"
#include "engine/sparsity/threshold_density_controller.hpp"
#include "engine/sparsity/update_schedule.hpp"
#include "engine/training/lr_schedule.hpp"
#include "engine/training/optimizer.hpp"
#include "engine/training/trainer.hpp"

#include <chrono>
#include <optional>

namespace srigl {

struct SparseLayerState {
    std::string name;
    SparseLayer* layer = nullptr;
    size_t paramIndex = 0; // index of the weight in the optimizer's parameter list
    double density = 1.0;
    int64_t budget = 0;
    bool isLast = false;
    bool dynamic = false;   // mask changes during training
    torch::Tensor gradSum;  // dense gradient summed over the accumulation window (dynamic only)
    // N:M methods: the weight stays dense, the mask is recomputed from it (straight-through
    // forward); eventMask is the mask at the latest mask event, for pruned/regrown/SAD.
    bool nm = false;
    // trainable_threshold: the weight stays dense, the mask is step(|W| - t) of the layer's
    // thresholds (SparseLayer::threshold); eventMask serves mask events as for N:M.
    bool tt = false;
    // The versions of weight and thresholds the mask was last computed and guarded from: when both
    // are unchanged at the next step, the mask is current and the guard has judged it already.
    std::pair<int64_t, int64_t> ttSeen{-1, -1};
    torch::Tensor eventMask;
    LayerUpdateStats last;  // statistics of the latest update
    // ablate_unused: this layer's neurons without an outgoing connection in the next layer, found
    // just before this layer's update (1 each; empty when the variant is off).
    std::vector<uint8_t> unused;
    std::string compute = "dense"; // condensed | masked_dense | dense (see LayerUpdateStats::compute)
};

struct Trainer::Impl {
    // malloc keeps freed blocks for the next step while memory is plentiful (freed_memory.hpp). The
    // first member, so that it goes last, after every tensor of the run.
    std::optional<KeptFreedMemory> keptFreed;
    uint64_t availableAtStart = 0;
    // Every few steps: hands the kept blocks back for good once the machine runs short.
    void checkRoomForKeptMemory();

    RunConfig config;
    TrainingObserver* observer = nullptr;
    torch::Device device{torch::kCPU};
    Dataset data;
    std::unique_ptr<BatchSampler> sampler;
    std::shared_ptr<SparseModelImpl> model;
    std::vector<SparseLayerState> layers;
    std::unique_ptr<Optimizer> optimizer;
    std::unique_ptr<LrSchedule> lr;
    std::unique_ptr<UpdateSchedule> schedule;
    std::optional<NmMethod> nm; // set for nm_ste, srste, nm_transposable
    std::unique_ptr<DataParallel> parallel; // set in a data-parallel run
    // trainable_threshold: alpha of the regulariser, moved by the controller when
    // tt_target_density is set (both saved in checkpoints).
    ThresholdDensityController ttController;
    DistributedInfo distributed;

    int64_t step = 0;
    int64_t totalSteps = 0;
    int64_t stepsPerEpoch = 0;
    double lastLoss = 0.0;
    TrainingStatus status = TrainingStatus::Finished;
    std::string statusMessage;

    // Running sums since the last report / over the current epoch (on the device: no sync per step).
    torch::Tensor reportLoss, reportCorrect, epochLoss, epochCorrect;
    int64_t reportSamples = 0, epochSamples = 0, reportSteps = 0;
    double lastEpochLoss = 0.0, lastEpochAccuracy = 0.0;

    double trainSeconds = 0.0;  // accumulated over resumes
    double updateSeconds = 0.0;
    double checkpointSeconds = 0.0;
    std::string runUuid; // the recorded run's identity, written into every checkpoint
    int64_t updates = 0;
    std::optional<EvalMetrics> lastEval;
    std::chrono::steady_clock::time_point reportStart;
    int64_t firstStep = 0;      // step and train time when run() began, for the summary's throughput
    double secondsBefore = 0.0;
    // Ordinary steps of this process (no mask update; its first step, a warm-up, left out), for the
    // summary's step time; and the dense twin's, measured before the first step.
    int64_t stepsThisProcess = 0;
    int64_t ordinarySteps = 0;
    double ordinarySeconds = 0.0;
    std::optional<DenseReference> denseReference;
    void measureDenseReference();

    void maskUpdate(int64_t atStep);
    // ablate_unused: neurons of layers[i] that no kept weight of layers[i + 1] reads.
    std::vector<uint8_t> unusedNeurons(size_t i) const;
    // SRigL's parameters for one layer (budget, gamma_sal; the output layer is never ablated).
    SriglParams sriglParams(const SparseLayerState& st) const;
    // The method's mask rule (SRigL, RigL or SET) on one layer's dense [out, fan_in] tensors.
    MaskUpdateResult runRule(const SparseLayerState& st, const torch::Tensor& weight, const torch::Tensor& mask,
                             double dropFraction, int64_t atStep);
    // N:M methods, after the optimizer step `atStep`: recomputes the masks that are due and, every
    // nm_update_every steps, reports a mask event.
    void nmMaskUpdate(int64_t atStep);
    // trainable_threshold, before a training forward and after the optimizer step `atStep`: the 1%
    // guard, the masks recomputed from the new weights and thresholds (what the next forward will
    // use, for events and snapshots), the alpha controller, and every tt_record_every steps a mask
    // event. atStep 0: only the guard and the masks (before a forward).
    void thresholdMaskUpdate(int64_t atStep);
    // Methods whose mask changes every step (N:M, trainable_threshold) report events every N steps:
    // a layer's changes since its previous event (and the event mask moved on), and the event's
    // end (timing; the observer told when `report`).
    LayerUpdateStats eventChanges(SparseLayerState& st);
    void finishEvent(MaskUpdateEvent& event, std::chrono::steady_clock::time_point start, bool report);
    // The weights each thresholded layer's mask keeps (0 for other layers), read in one device sync.
    std::vector<int64_t> keptCounts() const;
    // The guard on every thresholded layer (training only, never in evaluation), on the counts of
    // the masks as they stand; true if it reset any.
    bool guardThresholds(const std::vector<int64_t>& kept);
    // Kept weights over all weights of the sparse layers (dense ones count as kept).
    double globalDensity() const { return globalDensity(keptCounts()); }
    double globalDensity(const std::vector<int64_t>& kept) const;
    // alpha * sum(exp(-t)) over every thresholded layer.
    torch::Tensor thresholdRegulariser() const;
    // SparseOpt (config sparse_opt) on one layer's masked gradient, before the optimizer step.
    void scaleSparseOpt(SparseLayerState& st);
    LayerUpdateStats statsOf(const SparseLayerState& state) const;
    // Data-parallel runs: the mask checksum all-reduce (throws DistributedError on disagreement).
    void checkMasksAgree(int64_t atStep);
    bool writesCheckpoints() const { return !parallel || parallel->writes(); }

    // Condensed training (engine/training/condensed_path.cpp): switches a layer between the dense
    // form and values + indices, carrying its optimizer state; a mask update on a condensed layer.
    void condense(SparseLayerState& st);
    void expand(SparseLayerState& st);
    void expandAll();
    void condenseMarked();
    MaskUpdateResult condensedMaskUpdate(SparseLayerState& st, double dropFraction);
    // A checkpoint's condensed form of layer i (values, indices, alive, window captures), with the
    // optimizer's state resized for it; verified later with the rest.
    void loadCondensedLayer(torch::serialize::InputArchive& archive, size_t i, const std::string& path);
    // The partial dense gradient of a condensed layer (loaded sum + captured steps), without clearing.
    torch::Tensor pendingGradient(const SparseLayerState& st) const;
};

// Condensed layers larger than these (entries of their dense [out, fan_in] form) are checkpointed in
// their condensed layout, and left out of the weight and gradient snapshots (and, beyond `mask`, the
// mask snapshots) handed to recorders: a layer that trains condensed because its dense form would not
// fit in memory never expands. A mask snapshot is packed bits made from the indices (a bit per entry,
// 1/32 of the floats), so masks reach further: MLP 784-65536's first layer (51M entries) is drawn
// whole, its 65536 x 65536 layer as every 64th neuron. The limits are process-wide; tests lower them to exercise those
// paths on small layers, and raise `checkpoint` to write the dense layout that checkpoints of stop 40
// and before have.
struct DenseFormLimits {
    int64_t checkpoint = 0;                // every condensed layer is checkpointed condensed
    int64_t snapshot = int64_t{1} << 24;   // 64 MiB as float32 (4096 x 4096 still fits)
    int64_t mask = int64_t{1} << 26;       // 8 MiB as packed bits; beyond, rows are sampled (LayerMaskSnapshot)
};
DenseFormLimits& denseFormLimits();
// The layer is condensed and its dense form has more than `limit` entries.
bool condensedBeyond(const SparseLayerState& st, int64_t limit);

// Statistics of a mask: sparsity, active/ablated neurons, fan-in range of active neurons.
LayerUpdateStats describeMask(const std::string& name, const torch::Tensor& mask);
// The same for a condensed layer, from its form (no dense mask).
LayerUpdateStats describeCondensed(const std::string& name, const std::vector<int64_t>& shape,
                                   const CondensedWeights& layer);

} // namespace srigl
