// The init-variance panel's facade on the engine's initOutputNormVariance (Torch side of
// srigl_sessions).
#include "sessions/session/init_variance_job.hpp"

#include "engine/analysis/init_variance.hpp"
#include "engine/nm/nm_pattern.hpp"

#include <algorithm>
#include <cstdio>

namespace srigl::sessions {
namespace {

nm::InitVarianceOptions optionsFor(const InitVarianceJobSettings& s, double sparsity) {
    nm::InitVarianceOptions o;
    o.out = s.out;
    o.in = s.in;
    o.sparsity = sparsity;
    if (!s.nm.empty()) o.nm = nm::parseNm(s.nm);
    o.samples = s.samples;
    o.inputs = s.inputs;
    o.seed = s.seed;
    o.scale = s.layerAverageScale ? nm::InitScale::LayerAverage : nm::InitScale::PerNeuron;
    return o;
}

InitNormStats statsOf(const nm::NormStats& n) { return {n.density, n.mean, n.variance}; }

std::string sparsityText(double sparsity) {
    char text[48];
    std::snprintf(text, sizeof text, "sparsity %g", sparsity);
    return text;
}

} // namespace

std::vector<InitVariancePoint> runInitVarianceJob(const InitVarianceJobSettings& s,
                                                  const std::function<void(const InitVarianceProgress&)>& progress,
                                                  const std::atomic<bool>* cancel) {
    if (s.sparsities.empty()) throw std::invalid_argument("sparsities: give at least one sparsity");
    if (s.out > 0 && s.in > 0 && s.out > kInitVarianceMaxEntries / s.in)
        throw std::invalid_argument("layer size: out x in must be at most " + std::to_string(kInitVarianceMaxEntries) +
                                    " entries, got " + std::to_string(s.out) + " x " + std::to_string(s.in));
    // One initialisation per point first (samples and inputs kept when they are the bad values):
    // the engine rejects anything wrong before the long part, with its own words.
    for (double sparsity : s.sparsities) {
        nm::InitVarianceOptions probe = optionsFor(s, sparsity);
        probe.samples = std::min(probe.samples, 1);
        probe.inputs = std::min(probe.inputs, 1);
        probe.out = std::min<int64_t>(probe.out, 8);
        nm::initOutputNormVariance(probe);
    }
    std::vector<InitVariancePoint> points;
    const int64_t total = static_cast<int64_t>(s.sparsities.size());
    for (double sparsity : s.sparsities) {
        if (cancel && cancel->load()) throw InitVarianceCancelled();
        if (progress) progress({static_cast<int64_t>(points.size()), total, sparsityText(sparsity)});
        const nm::InitVarianceResult r = nm::initOutputNormVariance(optionsFor(s, sparsity));
        InitVariancePoint p;
        p.sparsity = sparsity;
        p.nm = r.nm.toString();
        p.dense = statsOf(r.dense);
        p.unstructured = statsOf(r.unstructured);
        p.constantFanIn = statsOf(r.constantFanIn);
        p.nmMask = statsOf(r.nmMask);
        points.push_back(std::move(p));
    }
    if (cancel && cancel->load()) throw InitVarianceCancelled();
    if (progress) progress({total, total, "done"});
    return points;
}

} // namespace srigl::sessions
