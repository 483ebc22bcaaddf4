// Salience follows engine/sparsity/srigl_update_cpu.cpp step by step, over the stored records
// instead of the trainer's tensors.
#include "widgets/logic/neuron_history.hpp"

#include "widgets/logic/degree_histograms.hpp"
#include "sessions/mask/mask_bits.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <stdexcept>

namespace srigl::studio {

std::map<int64_t, double> dropFractionsFromMetrics(const std::vector<sessions::Metric>& metrics) {
    std::map<int64_t, double> out;
    for (const auto& m : metrics)
        if (m.key == "drop_fraction") out[m.step] = m.value;
    return out;
}

namespace {

// The n largest values: those above the n-th largest, then ties with it in index order, exactly
// as the engine's selectLargest picks them.
std::vector<uint8_t> largest(const std::vector<float>& values, int64_t n) {
    const auto count = static_cast<int64_t>(values.size());
    std::vector<uint8_t> chosen(values.size(), n >= count ? 1 : 0);
    if (n <= 0 || n >= count) return chosen;
    std::vector<float> sorted = values;
    std::nth_element(sorted.begin(), sorted.begin() + (n - 1), sorted.end(), std::greater<float>());
    const float nth = sorted[static_cast<size_t>(n - 1)];
    int64_t ties = n;
    for (float v : values) ties -= v > nth;
    for (size_t i = 0; i < values.size(); ++i) {
        if (values[i] > nth)
            chosen[i] = 1;
        else if (values[i] == nth && ties > 0) {
            chosen[i] = 1;
            --ties;
        }
    }
    return chosen;
}

int64_t sum(const std::vector<int64_t>& v) {
    int64_t s = 0;
    for (int64_t x : v) s += x;
    return s;
}

} // namespace

LayerSalience layerSalience(const LayerMaskSnapshot& mask, const std::vector<float>& weights,
                            const std::vector<float>& gradient, double dropFraction, const SalienceParams& params,
                            int64_t budget) {
    const auto fanIns = sessions::rowCounts(mask);
    const int64_t out = mask.outFeatures, fanIn = mask.fanIn, nnz = sum(fanIns);
    sessions::checkWeightCount("'" + mask.name + "'", nnz, weights.size());
    if (static_cast<int64_t>(gradient.size()) != out * fanIn)
        throw std::invalid_argument("'" + mask.name + "' is " + std::to_string(out) + " x " + std::to_string(fanIn) +
                                    " but its gradient has " + std::to_string(gradient.size()) + " values");
    LayerSalience s;
    s.nPrune = static_cast<int64_t>(std::floor(static_cast<double>(nnz) * dropFraction));
    s.nKeep = nnz - s.nPrune;
    std::vector<float> absW(weights.size()), absG(gradient.size());
    std::transform(weights.begin(), weights.end(), absW.begin(), [](float w) { return std::fabs(w); });
    std::transform(gradient.begin(), gradient.end(), absG.begin(), [](float g) { return std::fabs(g); });
    // Active entries in mask order are in ascending flat index, so index-order ties agree with the
    // engine's selection over the whole [out, fan_in] array (where inactive entries rank last).
    const auto keepW = largest(absW, s.nKeep);
    const auto salientG = largest(absG, s.nPrune);

    s.salient.assign(static_cast<size_t>(out), 0);
    s.byMagnitude.assign(static_cast<size_t>(out), 0);
    s.byGradient.assign(static_cast<size_t>(out), 0);
    size_t active = 0;
    for (int64_t r = 0; r < out; ++r) {
        const auto row = static_cast<size_t>(r);
        for (int64_t i = r * fanIn; i < (r + 1) * fanIn; ++i) {
            const bool magnitude = sessions::maskBit(mask.bits, i) && keepW[active++];
            const bool grad = salientG[static_cast<size_t>(i)] != 0;
            s.byMagnitude[row] += magnitude;
            s.byGradient[row] += grad;
            s.salient[row] += magnitude || grad;
        }
    }

    s.k0 = budget / std::max<int64_t>(1, out);
    s.belowThreshold.assign(static_cast<size_t>(out), 0);
    if (!params.allowAblation || params.gammaSal <= 0.0) return s;
    s.threshold = std::max<int64_t>(1, static_cast<int64_t>(params.gammaSal * static_cast<double>(s.k0)));
    // As sriglAblatedNeurons: lower the threshold until enough neurons survive for k <= fan_in.
    const int64_t minActive = std::min(out, budget / (fanIn + 1) + 1);
    auto survivors = [&](int64_t t) {
        return std::count_if(s.salient.begin(), s.salient.end(), [t](int64_t c) { return c >= t; });
    };
    while (s.threshold > 0 && survivors(s.threshold) < minActive) --s.threshold;
    for (size_t r = 0; r < s.salient.size(); ++r) s.belowThreshold[r] = s.salient[r] < s.threshold;
    return s;
}

namespace {

// The latest record of `layer` at or before `step` (records sorted by step), or null.
const sessions::MaskRecord* latestMask(const std::vector<const sessions::MaskRecord*>& records, int64_t step) {
    const sessions::MaskRecord* found = nullptr;
    for (const auto* r : records) {
        if (r->step > step) break;
        found = r;
    }
    return found;
}

std::vector<const sessions::MaskRecord*> masksOf(const std::vector<sessions::MaskRecord>& masks,
                                                 const std::string& layer) {
    std::vector<const sessions::MaskRecord*> out;
    for (const auto& m : masks)
        if (m.mask.name == layer) out.push_back(&m);
    std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->step < b->step; });
    return out;
}

} // namespace

NeuronHistory neuronHistory(const std::vector<sessions::MaskRecord>& masks,
                            const std::vector<sessions::WeightValuesRecord>& weights,
                            const std::vector<sessions::GradientRecord>& gradients, const std::string& layer,
                            int64_t row, const SalienceParams& params, const NextLayerRef& next) {
    const auto own = masksOf(masks, layer);
    if (own.empty()) throw std::invalid_argument("no mask snapshot of '" + layer + "'");
    if (row < 0 || row >= own.front()->mask.outFeatures)
        throw std::invalid_argument(sessions::noSuchRow(own.front()->mask, row));
    const auto nextOwn = next.name.empty() ? std::vector<const sessions::MaskRecord*>{} : masksOf(masks, next.name);

    NeuronHistory h;
    h.layer = layer;
    h.nextLayer = next.name;
    h.neuron = own.front()->mask.neuronOf(row);
    h.row = row;
    h.budget = params.budget;
    if (h.budget <= 0)
        for (const auto* m : own) h.budget = std::max(h.budget, sum(sessions::rowCounts(m->mask)));

    std::map<int64_t, const sessions::WeightValuesRecord*> weightAt;
    std::map<int64_t, const sessions::GradientRecord*> gradientAt;
    std::set<int64_t> steps;
    for (const auto* m : own) steps.insert(m->step);
    for (const auto& w : weights) {
        if (w.layer != layer) continue;
        steps.insert(w.step);
        weightAt[w.step] = &w;
    }
    for (const auto& g : gradients) {
        if (g.layer != layer) continue;
        steps.insert(g.step);
        gradientAt[g.step] = &g;
    }

    for (int64_t step : steps) {
        const auto* record = latestMask(own, step);
        if (!record) continue; // before the first snapshot nothing says which weight is which
        const auto& mask = record->mask;
        const auto fanIns = sessions::rowCounts(mask);
        NeuronHistoryPoint p;
        p.step = step;
        p.fanIn = fanIns[static_cast<size_t>(row)];
        p.ablated = std::find(mask.ablated.begin(), mask.ablated.end(), row) != mask.ablated.end();

        const auto w = weightAt.find(step);
        if (w != weightAt.end()) {
            const auto& values = w->second->values;
            sessions::checkWeightCount("'" + layer + "' at step " + std::to_string(step), sum(fanIns), values.size());
            int64_t start = 0;
            for (int64_t r = 0; r < row; ++r) start += fanIns[static_cast<size_t>(r)];
            double squares = 0.0;
            for (int64_t i = start; i < start + p.fanIn; ++i)
                squares += static_cast<double>(values[static_cast<size_t>(i)]) * values[static_cast<size_t>(i)];
            p.weightNorm = std::sqrt(squares);
        }

        const auto g = gradientAt.find(step);
        const auto f = params.dropFraction.find(step);
        std::string missing;
        auto note = [&missing](const char* what) { missing += (missing.empty() ? "" : ", ") + std::string(what); };
        if (w == weightAt.end()) note("weights");
        if (g == gradientAt.end()) note("gradient");
        if (f == params.dropFraction.end()) note("drop fraction");
        // A sampled mask (a layer too large to snapshot whole) has no weights or gradients stored; its
        // salience would need every row of the layer in any case.
        if (mask.sampled()) missing = "the whole layer (its mask holds " + everyNth(mask.rowStride) + " neuron)";
        if (missing.empty()) {
            const auto s = layerSalience(mask, w->second->values, g->second->values, f->second, params, h.budget);
            const auto i = static_cast<size_t>(row);
            p.salience = {
                true, "", s.salient[i], s.byMagnitude[i], s.byGradient[i], s.threshold, s.belowThreshold[i] != 0};
        } else {
            p.salience.missing = missing;
        }

        // Which neurons a sampled next layer reads is known for its sample only (nextLayerUse refuses).
        const auto* nextRecord = latestMask(nextOwn, step);
        if (nextRecord && !mask.sampled() && !nextRecord->mask.sampled())
            p.outDegree = nextLayerUse(mask, nextRecord->mask, next.shape).outDegree[static_cast<size_t>(row)];
        h.points.push_back(std::move(p));
    }
    return h;
}

} // namespace srigl::studio
