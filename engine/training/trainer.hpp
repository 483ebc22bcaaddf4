// The training loop of one run: data, model, masks, optimizer, schedules, checkpoints. Public API
// in plain C++ types (no Torch), so sessions and the Studio can drive it without Torch headers.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/distributed/data_parallel_options.hpp"
#include "engine/training/checkpoint_file.hpp"
#include "engine/training/training_observer.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace srigl {

class ProcessGroup; // engine/distributed/process_group.hpp

// Where this trainer stands in a data-parallel run (rank 0 of 1 when it trains alone).
struct DistributedInfo {
    int rank = 0;
    int worldSize = 1;
    bool masksAgree = true;    // every mask checksum all-reduce found identical masks on all ranks
    int64_t maskChecks = 0;    // checksum all-reduces done (start, every mask update, end)
    std::string maskChecksum;  // the combined checksum of the latest check ("" before any)
    double communicationSeconds = 0.0; // in collectives, waiting for the other ranks included
    int64_t gradientBuckets = 0;       // all-reduce messages per step
    int64_t bucketsOverlapped = 0;     // of those, started while backward still ran (last step)
};

// What a config will train, known before any data is loaded: one entry per sparse layer.
struct LayerPlan {
    std::string name;
    std::vector<int64_t> shape;
    double density = 1.0;
    int64_t budget = 0; // weights the layer may keep
    int64_t k = 0;      // initial fan-in per neuron (SRigL), else budget / out rounded down
};

// Validates the config and the model's layer shapes (k >= 1 for every sparse layer, etc.) without
// loading data; throws ConfigError naming the key. The Studio's form calls this on every edit.
std::vector<LayerPlan> planRun(const RunConfig& config);

class Trainer {
public:
    // Validates everything (config, device, data files, model shapes) and builds the run at step 0.
    // Throws ConfigError or DataError with a message that names the key or file.
    explicit Trainer(const RunConfig& config, TrainingObserver* observer = nullptr);
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    // Continues a run from a checkpoint written by saveCheckpoint for the same config (structural
    // keys must match; throws CheckpointError otherwise, and for a damaged file). Returns the file's
    // header: the identity of the run that wrote it and its step.
    CheckpointHeader loadCheckpoint(const std::string& path);
    // Writes atomically (temporary file, then rename) with a checksum over every byte: a crash or a
    // full disk never leaves half a checkpoint, and damage is found on load.
    void saveCheckpoint(const std::string& path) const;
    // Writes the configured checkpoint now: observers hear onBeforeCheckpoint (the recorder commits
    // what it holds, so the stored history reaches the checkpoint's step), then onCheckpoint.
    void writeCheckpoint();
    // The identity of the recorded run this trainer trains; every checkpoint carries it so that a
    // checkpoint of another run is refused on resume.
    void setRunIdentity(const std::string& runUuid);

    // Trains until the last step, a stop request or a non-finite loss: begin(), trainStep() until
    // it returns false, finish().
    TrainingSummary run();
    // Starts a run driven step by step (observers hear onStart, the dense twin is timed, the
    // summary's clock starts here): a caller that steps the trainer itself calls it once first.
    void begin();
    // Ends a run driven step by step: final checkpoint, evaluation and summary (onFinished).
    TrainingSummary finish();
    // One optimizer step (with a mask update when the schedule says so). False when training is
    // over or the loss became non-finite (see lastStatus()).
    bool trainStep();
    EvalMetrics evaluate();
    void requestStop() { stopRequested_ = true; }
    // For callers that learn these only after the config was validated (e.g. a recorder that
    // needs the run id the store hands out).
    void setObserver(TrainingObserver* observer);
    void setCheckpointFile(const std::string& path, int64_t every);
    // Makes this trainer one worker of a data-parallel run: rank 0's weights, buffers and masks
    // overwrite this rank's (call after loadCheckpoint, if any: every rank loads the same one, so
    // the optimizer state agrees too), each step trains on this
    // rank's shard of the global batch (batch_size) with averaged gradients, and only rank 0
    // writes checkpoints. Throws ConfigError (batch_size) or DistributedError.
    void enableDataParallel(std::shared_ptr<ProcessGroup> group, const DataParallelOptions& options = {});
    DistributedInfo distributedInfo() const;

    const RunConfig& config() const;
    int64_t step() const;
    int64_t totalSteps() const;
    int64_t stepsPerEpoch() const;
    double lastLoss() const; // loss of the most recent step
    TrainingStatus lastStatus() const;
    std::vector<LayerUpdateStats> layerStats() const;
    std::vector<LayerMaskSnapshot> maskSnapshot() const;
    // Dense weights of every sparse layer, in the order of maskSnapshot(); copied to the CPU.
    std::vector<LayerWeightSnapshot> weightSnapshots() const;
    // Dense weights of one layer (for a heatmap); throws ConfigError naming the layers when there
    // is no such layer.
    LayerWeightSnapshot weightSnapshot(const std::string& layer) const;
    std::string deviceDescription() const;

    // For tests and tools that need the torch objects; defined in trainer_internals.hpp.
    struct Impl;
    Impl& internals() { return *impl_; }

private:
    void verifyLoadedState(const std::string& path);

    std::unique_ptr<Impl> impl_;
    std::atomic<bool> stopRequested_{false};
};

} // namespace srigl
