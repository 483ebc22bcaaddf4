// One neuron over a run's stored steps: its fan-in, the L2 norm of its weights, whether it was
// ablated, its SRigL salience and how many connections of the next layer read it. Salience is
// computed only where the step's weights, gradient and drop fraction were all recorded, and is
// reported as not recorded otherwise.
#pragma once

#include "sessions/store/run_store.hpp" // plain record types (no Torch); nothing here reads the store

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace srigl::studio {

// What SRigL's ablation needs beyond the records (docs/algorithms.md, "SRigL").
struct SalienceParams {
    double gammaSal = 0.3;                  // the run's gamma_sal; 0: ablation is off
    bool allowAblation = true;              // false for the output layer, which is never ablated
    int64_t budget = 0;                     // the layer's B; 0: the most connections any of its snapshots keeps
    std::map<int64_t, double> dropFraction; // the "drop_fraction" metric of each update, by step
};
std::map<int64_t, double> dropFractionsFromMetrics(const std::vector<sessions::Metric>& metrics);

// SRigL's saliency of every neuron of a layer at one update: with nnz kept connections and drop
// fraction f, n_prune = floor(nnz * f) and n_keep = nnz - n_prune; a connection is salient when it
// is among the layer's n_keep largest |W| of active entries or its n_prune largest |dense grad| of
// all entries (ties in index order, as the engine's selectLargest). A neuron with fewer salient
// connections than the threshold max(1, int(gamma_sal * k0)), k0 = B / out, lowered until
// floor(B / (F + 1)) + 1 neurons survive, is ablated.
struct LayerSalience {
    std::vector<int64_t> salient, byMagnitude, byGradient; // per neuron (a connection may count in both parts)
    int64_t nKeep = 0, nPrune = 0;
    int64_t k0 = 0;
    int64_t threshold = 0;               // 0 when ablation is off
    std::vector<uint8_t> belowThreshold; // per neuron: the update would ablate it
};
// weights: active weights in mask order; gradient: [out, fan_in] dense. The stored weights are those
// after the update at that step (kept weights keep their values, grown ones start at zero), so this
// reproduces the engine's counts exactly for an update that ablated and cut back no neuron;
// a neuron ablated at this step has already lost its weights and counts its gradient part only.
// Throws std::invalid_argument when the counts do not fit the mask.
LayerSalience layerSalience(const LayerMaskSnapshot& mask, const std::vector<float>& weights,
                            const std::vector<float>& gradient, double dropFraction, const SalienceParams& params,
                            int64_t budget);

struct NeuronSalience {
    bool recorded = false;
    std::string missing; // when not recorded: what was not ("weights", "gradient", "drop fraction")
    int64_t salient = 0, byMagnitude = 0, byGradient = 0;
    int64_t threshold = 0; // 0 when ablation is off
    bool belowThreshold = false;
};

struct NeuronHistoryPoint {
    int64_t step = 0;
    int64_t fanIn = 0;
    bool ablated = false;
    std::optional<double> weightNorm; // none: the step's weights were not recorded
    NeuronSalience salience;
    std::optional<int64_t> outDegree; // none: no next layer given, or none recorded by this step
};

struct NeuronHistory {
    std::string layer, nextLayer;
    int64_t neuron = 0; // its number in the layer
    int64_t row = 0;    // its row in the layer's mask snapshots (a sampled mask's row r is neuron r * stride)
    int64_t budget = 0;                     // B the salience used
    std::vector<NeuronHistoryPoint> points; // by step
};

// The layer's next layer, whose connections read this layer's neurons (degree_histograms' grouping).
struct NextLayerRef {
    std::string name; // empty: no outgoing counts
    std::vector<int64_t> shape;
};

// masks, weights, gradients: a run's records of any layers (RunStore::masks(id) and friends); the
// points are the steps at which this layer has any record, each using the latest mask snapshot at
// or before it. `row` is the neuron's row in the snapshots (its number, unless they are sampled).
// Throws std::invalid_argument when the layer has no mask snapshot, the row is out of range or a
// record does not fit its mask.
NeuronHistory neuronHistory(const std::vector<sessions::MaskRecord>& masks,
                            const std::vector<sessions::WeightValuesRecord>& weights,
                            const std::vector<sessions::GradientRecord>& gradients, const std::string& layer,
                            int64_t row, const SalienceParams& params = {}, const NextLayerRef& next = {});

} // namespace srigl::studio
