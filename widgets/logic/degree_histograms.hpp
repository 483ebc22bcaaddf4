// Degrees of a sparse layer from its mask: each neuron's fan-in, each input's out-degree, their
// integer histograms, and how the next layer uses this layer's neurons (a neuron the next layer
// never reads but that keeps incoming weights spends budget for nothing; issue 18).
#pragma once

#include "engine/training/training_observer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl::studio {

// Bin i counts the values in [lo + i * width, lo + (i + 1) * width). One bin per integer while the
// values span at most maxBins integers, so a constant fan-in layer is one bar at k and RigL's spread
// shows every count; wider ranges get equal integer widths.
struct IntHistogram {
    int64_t lo = 0;
    int64_t width = 1;
    std::vector<int64_t> counts;
    int64_t total() const;
};
constexpr int kDegreeHistogramBins = 40;
IntHistogram integerHistogram(const std::vector<int64_t>& values, int maxBins = kDegreeHistogramBins);

struct DegreeStats {
    int64_t count = 0; // values summarised
    double mean = 0.0;
    int64_t min = 0, max = 0;
    bool constant() const { return count > 0 && min == max; }
};
DegreeStats degreeStats(const std::vector<int64_t>& values, const std::vector<uint8_t>& skip = {});

struct LayerDegrees {
    std::string name;
    int64_t outFeatures = 0, fanIn = 0;     // the snapshot's rows (sampled ones, see rowStride) and inputs
    int64_t rowStride = 1;                  // > 1: every rowStride-th neuron of layerOutFeatures (a sample)
    int64_t layerOutFeatures = 0;
    int64_t kept = 0;                       // connections in the mask
    std::vector<int64_t> fanInPerNeuron;    // row counts
    std::vector<int64_t> outDegreePerInput; // column counts
    std::vector<uint8_t> ablated;           // 1 per neuron in the snapshot's ablated list
    int64_t ablatedCount = 0;
    IntHistogram fanInHistogram;     // every neuron (ablated ones at 0): sums to outFeatures
    IntHistogram outDegreeHistogram; // every input: sums to fanIn
    DegreeStats fanInStats;          // over the neurons that are not ablated, as LayerUpdateStats' range
    DegreeStats outDegreeStats;      // over every input
};
// Throws std::invalid_argument on a malformed mask.
LayerDegrees layerDegrees(const LayerMaskSnapshot& mask, int maxBins = kDegreeHistogramBins);

// How the next layer's inputs map onto this layer's neurons.
enum class NextLayerGrouping {
    Columns,           // next fan_in == out: column j is neuron j
    FlattenedChannels, // a conv feeding a Linear through flatten: fan_in = channels * H * W, channel-major
    ConvInputChannels, // conv -> conv: fan_in = in_channels * kh * kw, flattened as (in, kh, kw)
};
std::string toString(NextLayerGrouping grouping);

struct NextLayerUse {
    std::string layer, nextLayer;
    NextLayerGrouping grouping = NextLayerGrouping::Columns;
    int64_t groupSize = 1;           // next-layer columns per neuron of this layer (H * W or kh * kw)
    std::vector<int64_t> outDegree;  // per neuron: connections of the next layer that read it
    IntHistogram outDegreeHistogram; // every neuron: sums to outFeatures
    DegreeStats outDegreeStats;      // over the neurons that are not ablated
    // Neurons that are not ablated, keep incoming weights and are read by no connection of the next
    // layer: their weights train for nothing.
    std::vector<int64_t> unused;
    int64_t unusedWeights = 0;        // this layer's kept weights that the unused neurons hold
    double unusedPercent = 0.0;       // of this layer's neurons
    double unusedWeightPercent = 0.0; // of this layer's kept weights
    // Ablated neurons are apart: they output only their bias, so a next-layer connection reading
    // one is the next layer's waste, not this one's.
    int64_t ablatedCount = 0;
    std::vector<int64_t> ablatedStillRead; // ablated neurons with out-degree > 0
    int64_t connectionsFromAblated = 0;    // next-layer connections reading them
};
// nextShape: the next layer's weight shape (LayerUpdateStats::shape) when known; a 4-D shape whose
// input channels equal this layer's neurons means conv -> conv. Without it, a fan-in that is a
// multiple of this layer's neurons is read as channel blocks (the flatten and the conv layouts
// group the same columns). Throws std::invalid_argument when the next fan-in does not fit (e.g. a
// residual connection or a layer that is not the next one), or when either mask is a sample of its
// layer's neurons (a sampled next layer's reads are known for its sample only: counts from it would
// call neurons unused that other rows read).
NextLayerUse nextLayerUse(const LayerMaskSnapshot& layer, const LayerMaskSnapshot& next,
                          const std::vector<int64_t>& nextShape = {}, int maxBins = kDegreeHistogramBins);

} // namespace srigl::studio
