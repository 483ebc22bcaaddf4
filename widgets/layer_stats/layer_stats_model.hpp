// Layer statistics of a recorded run from the statistics of its mask snapshots (one per layer at
// the start and at every mask update; RunStore::maskStats, no mask read): the values at a step,
// SAD per update, the ablation timeline and trainable_threshold's thresholds. Mask diversity comes from
// engine/analysis/mask_diversity (plain C++, no Torch).
#pragma once

#include "sessions/store/run_store.hpp"
#include "widgets/common/session_history.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl::studio {

struct LayerStatsRow {
    std::string name;
    int64_t step = 0; // of the snapshot shown (the last at or before the asked step)
    int64_t outFeatures = 0, fanIn = 0;
    double sparsity = 0.0;
    int64_t k = 0, active = 0, ablated = 0;
    int64_t sad = 0, pruned = 0, regrown = 0; // of that update (0 for the initial snapshot)
    // log10 of the number of masks this structure allows: constant fan-in C(fan_in, k)^active when
    // k > 0, otherwise unstructured C(out * fan_in, kept).
    double log10Diversity = 0.0;
    std::vector<float> thresholds; // trainable_threshold: one per neuron at that snapshot; else empty
};

// Equal-width bins over [lo, lo + width * counts.size()) of real values (the last bin closed).
struct RealHistogram {
    double lo = 0.0, width = 0.0;
    std::vector<int64_t> counts;
};

struct LayerSeries {
    std::string layer;
    std::vector<CurvePoint> points; // (step, value)
};

// Layers in the order they were first recorded; step < 0: the latest snapshot. A layer whose
// first snapshot comes after the step is left out.
std::vector<LayerStatsRow> layerStatsAt(const std::vector<sessions::MaskStatsRecord>& records, int64_t step);
// SAD of every update after a layer's first snapshot.
std::vector<LayerSeries> sadSeries(const std::vector<sessions::MaskStatsRecord>& records);
// Ablated neurons of every snapshot.
std::vector<LayerSeries> ablationTimeline(const std::vector<sessions::MaskStatsRecord>& records);
double layerDiversity(const LayerUpdateStats& stats);
// Mean, minimum and maximum of a layer's thresholds (all 0 when there are none).
struct ThresholdSummary {
    double mean = 0.0, min = 0.0, max = 0.0;
};
ThresholdSummary summarizeThresholds(const std::vector<float>& thresholds);
// trainable_threshold: the mean threshold over each thresholded layer's neurons at every snapshot
// (layers without thresholds are left out).
std::vector<LayerSeries> thresholdMeans(const std::vector<sessions::MaskStatsRecord>& records);
// `bins` equal bins over [min, max] of the finite values (all in the first bin when they are equal;
// no bins when none is finite).
RealHistogram realHistogram(const std::vector<float>& values, int bins);

} // namespace srigl::studio
