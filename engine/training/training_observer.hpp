// What the trainer reports while it runs, in plain C++ types (no Torch), so that sessions, the CLI
// and the Studio can listen without including Torch headers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace srigl {

struct StepMetrics {
    int64_t step = 0; // optimizer steps done
    int64_t totalSteps = 0;
    int64_t epoch = 0; // 0-based epoch of this step
    double loss = 0.0; // mean training loss over the steps since the last report
    double accuracy = 0.0; // training accuracy over the same steps
    double lr = 0.0;
    double samplesPerSecond = 0.0;
    double elapsedSeconds = 0.0;
    double stepMs = 0.0; // mean ordinary step so far, as TrainingSummary::stepMs (0: none timed yet)
};

struct EvalMetrics {
    int64_t step = 0;
    int64_t epoch = 0;
    double testLoss = 0.0;
    double testAccuracy = 0.0;
};

// One sparse layer after a mask update (or at the start of training).
struct LayerUpdateStats {
    std::string name;
    std::vector<int64_t> shape; // weight shape
    int64_t outFeatures = 0;
    int64_t fanIn = 0;
    double sparsity = 0.0; // fraction of zero mask entries
    int64_t k = 0;         // SRigL connections per active neuron; 0 for unstructured methods
    int64_t active = 0;    // neurons with connections
    int64_t ablated = 0;   // neurons without connections
    int64_t pruned = 0;
    int64_t regrown = 0;
    int64_t sad = 0;     // entries of the mask that changed (structural difference)
    int64_t fanInMin = 0; // over active neurons
    int64_t fanInMax = 0;
    double seconds = 0.0;
    // N:M methods: 1 when every group keeps exactly N (and, for transposable masks, every tile
    // row and column), 0 when not; -1 where it does not apply (other methods, dense layers).
    int nmValid = -1;
    // How the layer computes: "condensed" (values + indices kernels), "masked_dense" (dense ops on
    // W * M) or "dense" (a layer kept dense).
    std::string compute = "dense";
    // trainable_threshold: the layer's learned threshold of every output neuron at this step (the
    // mask is step(|W| - t) row by row); empty for the other methods.
    std::vector<float> thresholds;
};

// The weights of one layer as dense floats, row-major [out, fan_in] (entries outside the mask are
// zero): what weight heatmaps and weight statistics are made of.
struct LayerWeightSnapshot {
    std::string name;
    int64_t outFeatures = 0;
    int64_t fanIn = 0;
    std::vector<float> values;
};

struct MaskUpdateEvent {
    int64_t step = 0;
    double dropFraction = 0.0;
    double seconds = 0.0;
    std::vector<LayerUpdateStats> layers;
    // RigL and SRigL grow by the dense gradient (summed over the accumulation window): this copies
    // it to the CPU for every updated layer, as [out, fan_in] like the weights. Lazy, because most
    // listeners never want it; it reads the trainer's state, so call it inside onMaskUpdate, on the
    // training thread (a kept copy returns nothing later). Empty for methods that update without
    // a gradient (SET, N:M).
    std::function<std::vector<LayerWeightSnapshot>()> gradients;
};

// The mask of one layer as packed bits (row-major [out, fan_in], bit i of byte i/8 is entry i),
// with the ablated neurons: what the mask inspector and the store need.
//
// A layer too large to snapshot whole (one that trains condensed beyond the trainer's mask limit,
// such as huge-mlp-99's 65536 x 65536 fc2) is sampled by rows: the bits and `ablated` then cover its
// neurons 0, rowStride, 2 rowStride, ..., outFeatures counts those sampled rows, and
// layerOutFeatures is the layer's own count. Every sampled row is whole, so fan-ins, the constant
// fan-in check and the pruned and regrown connections of a row are exact; counts over inputs cover
// the sample only.
struct LayerMaskSnapshot {
    std::string name;
    int64_t outFeatures = 0; // rows in `bits`
    int64_t fanIn = 0;
    std::vector<uint8_t> bits;
    std::vector<int64_t> ablated; // rows of `bits` (sampled rows: neuron = row * rowStride)
    int64_t rowStride = 1;        // 1: every neuron
    int64_t layerOutFeatures = 0; // the layer's neurons when sampled; 0 means outFeatures

    // The rows a sample of every `stride`-th of `layerRows` neurons holds: 0, stride, 2 stride, ...
    static int64_t sampledRows(int64_t layerRows, int64_t stride) { return (layerRows + stride - 1) / stride; }

    bool sampled() const { return rowStride > 1; }
    int64_t neuronOf(int64_t row) const { return row * rowStride; }
    int64_t layerRows() const { return layerOutFeatures > 0 ? layerOutFeatures : outFeatures; }
};

// "every 2nd", "every 3rd", "every 64th": how messages name a sampled mask's rows.
inline std::string everyNth(int64_t n) {
    const int64_t tens = n % 100, units = n % 10;
    const char* suffix = tens >= 11 && tens <= 13 ? "th" : units == 1 ? "st" : units == 2 ? "nd" : units == 3 ? "rd" : "th";
    return "every " + std::to_string(n) + suffix;
}

// Statistics of a layer's active weights (those inside its mask) at one step, with a histogram of
// kWeightHistogramBins equal bins over [min, max] (all counts in the first bin when min == max).
constexpr int kWeightHistogramBins = 64;
struct LayerWeightStats {
    std::string name;
    int64_t count = 0; // active weights
    double mean = 0.0;
    double std = 0.0; // population standard deviation
    double min = 0.0;
    double max = 0.0;
    std::vector<int64_t> histogram;
};

// The dense twin of a run's model (the same architecture with every weight kept, on the same device
// and threads, with the run's optimizer and batch shape) timed on random data: what the run's own
// step time is compared with (config key dense_reference_steps).
struct DenseReference {
    bool measured = false;
    double stepMs = 0.0;        // median of `steps` steps after one warm-up step
    int steps = 0;
    int64_t estimatedBytes = 0; // the twin's weights, gradients, optimizer state and masks
    std::string skipped;        // why it was not measured, e.g. "dense twin would need 17.2 GB, ..."
};

enum class TrainingStatus { Finished, Stopped, Diverged };
std::string toString(TrainingStatus status);

struct TrainingSummary {
    TrainingStatus status = TrainingStatus::Finished;
    std::string message;
    int64_t steps = 0;
    double seconds = 0.0;
    double updateSeconds = 0.0; // total time spent in mask updates
    double checkpointSeconds = 0.0; // time spent writing checkpoints during training
    int64_t updates = 0;
    double trainLoss = 0.0; // mean over the last epoch's steps (or fewer)
    double trainAccuracy = 0.0;
    double testLoss = 0.0;
    double testAccuracy = 0.0;
    double samplesPerSecond = 0.0;
    std::vector<LayerUpdateStats> layers;
    // Mean wall time of this process's ordinary steps (forward, backward, optimizer; mask-update
    // steps and the first, warm-up step left out; evaluation and checkpoints are outside steps).
    // 0 when no such step was trained.
    double stepMs = 0.0;
    int64_t timedSteps = 0;
    // Measured once per process, before its first step; not measured (and `skipped` empty) when
    // dense_reference_steps is 0 or the run is dense itself.
    DenseReference denseReference;
};

class TrainingObserver {
public:
    virtual ~TrainingObserver() = default;
    virtual void onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) {}
    virtual void onStep(const StepMetrics& metrics) {}
    // Once, before the first step this process trains (when dense_reference_steps > 0 and the run
    // is not dense): the dense twin's step time, or why it was not measured.
    virtual void onDenseReference(const DenseReference& reference) {}
    virtual void onMaskUpdate(const MaskUpdateEvent& event) {}
    virtual void onEvaluation(const EvalMetrics& metrics) {}
    // Just before a checkpoint at `step` is written; returns once the observer's own record of the
    // run up to `step` is durable (the recorder commits its queue), so history and checkpoint agree
    // after a kill at any moment.
    virtual void onBeforeCheckpoint(int64_t step) {}
    virtual void onCheckpoint(int64_t step, const std::string& path) {}
    virtual void onFinished(const TrainingSummary& summary) {}
};

} // namespace srigl
