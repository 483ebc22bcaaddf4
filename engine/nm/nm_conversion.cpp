// Reconstruction and mean absorption need each layer's inputs. The engine's models expose their
// classifier as a chain of linear layers behind features(x) (ReLU between them), so those layers
// get both; convolutions inside features() are masked only (and their batch norms re-estimated).
#include "engine/nm/nm_conversion.hpp"

#include "engine/errors.hpp"
#include "engine/nm/batch_norm_reestimation.hpp"
#include "engine/nm/mask_diversity.hpp"
#include "engine/nm/mean_absorption.hpp"
#include "engine/nm/nm_mask.hpp"
#include "engine/nm/transposable_mask.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace srigl::nm {

namespace {

bool isSkipped(const ConversionOptions& o, const std::string& name) {
    return std::find(o.skipLayers.begin(), o.skipLayers.end(), name) != o.skipLayers.end();
}

struct LayerState {
    std::string name;
    SparseLayer* layer = nullptr;
    bool converted = false;
    int chainIndex = -1; // position in the classifier chain, -1 for other layers
    torch::Tensor original; // weight * old mask, before conversion
};

// Inputs of every classifier layer and the logits, over all calibration batches concatenated.
struct ChainActivations {
    std::vector<torch::Tensor> inputs;  // [S, in_i]
    std::vector<torch::Tensor> outputs; // [S, out_i], before the ReLU
};

ChainActivations chainActivations(SparseModelImpl& model, const std::vector<torch::Tensor>& calibration) {
    auto chain = model.classifier();
    ChainActivations out;
    out.inputs.resize(chain.size());
    out.outputs.resize(chain.size());
    std::vector<std::vector<torch::Tensor>> ins(chain.size()), outs(chain.size());
    for (const auto& batch : calibration) {
        auto a = model.features(batch).flatten(1);
        for (size_t i = 0; i < chain.size(); ++i) {
            ins[i].push_back(a);
            auto y = chain[i]->forward(a);
            outs[i].push_back(y);
            a = i + 1 < chain.size() ? torch::relu(y) : y;
        }
    }
    for (size_t i = 0; i < chain.size(); ++i) {
        out.inputs[i] = torch::cat(ins[i], 0);
        out.outputs[i] = torch::cat(outs[i], 0);
    }
    return out;
}

// The classifier's input (the flattened features) over all calibration batches concatenated.
torch::Tensor classifierInput(SparseModelImpl& model, const std::vector<torch::Tensor>& calibration) {
    std::vector<torch::Tensor> feats;
    for (const auto& batch : calibration) feats.push_back(model.features(batch).flatten(1));
    return torch::cat(feats, 0);
}

torch::Tensor logits(SparseModelImpl& model, const std::vector<torch::Tensor>& calibration) {
    std::vector<torch::Tensor> parts;
    for (const auto& batch : calibration) parts.push_back(model.forward(batch));
    return torch::cat(parts, 0).to(torch::kDouble);
}

bool masksValid(const std::vector<LayerState>& layers, const ConversionOptions& o) {
    for (const auto& l : layers) {
        if (!l.converted) continue;
        if (!nmValid(l.layer->mask, o.pattern)) return false;
        if (o.transposable && !transposableValid(l.layer->mask, o.pattern)) return false;
        if ((l.layer->weight.masked_select(l.layer->mask.logical_not()) != 0).any().item<bool>()) return false;
    }
    return true;
}

} // namespace

void checkConvertible(SparseModelImpl& model, const ConversionOptions& o) {
    const auto layers = model.sparseLayers();
    for (const auto& skip : o.skipLayers) {
        const bool known = std::any_of(layers.begin(), layers.end(), [&](const NamedSparseLayer& l) { return l.name == skip; });
        if (!known) {
            std::string names;
            for (const auto& l : layers) names += (names.empty() ? "" : ", ") + l.name;
            throw ConfigError("skip", "the model has no layer '" + skip + "' (its layers: " + names + ")");
        }
    }
    int converted = 0;
    for (const auto& l : layers) {
        if (isSkipped(o, l.name)) continue;
        ++converted;
        const int64_t in = l.layer->weight.size(1);
        if (in % o.pattern.m != 0)
            throw ConfigError("nm", "layer " + l.name + " has " + std::to_string(in) + " inputs, not a multiple of M = " +
                                        std::to_string(o.pattern.m) + " (leave it as it is with --skip " + l.name + ")");
    }
    if (converted == 0) throw ConfigError("skip", "every layer is skipped: nothing to convert");
}

ConversionReport convertToNm(SparseModelImpl& model, const std::vector<torch::Tensor>& calibration,
                             const std::function<double()>& evaluate, const ConversionOptions& o,
                             const ConversionProgress& progress) {
    if (calibration.empty() || calibration.front().size(0) == 0)
        throw DataError("the calibration set is empty: conversion needs at least one batch");
    checkConvertible(model, o);
    torch::NoGradGuard noGrad;
    model.eval();
    using Clock = std::chrono::steady_clock;
    constexpr int kStages = 5;
    auto report = [&](const std::string& stage, int done) {
        if (progress) progress(stage, done, kStages);
    };

    std::vector<LayerState> layers;
    auto chain = model.classifier();
    for (const auto& named : model.sparseLayers()) {
        LayerState s;
        s.name = named.name;
        s.layer = named.layer;
        s.converted = !isSkipped(o, named.name);
        for (size_t i = 0; i < chain.size(); ++i)
            if (static_cast<SparseLayer*>(chain[i]) == named.layer) s.chainIndex = static_cast<int>(i);
        // A straight-through N:M run keeps dense weights behind its mask: what it computes is W * M.
        named.layer->weight.mul_(named.layer->mask);
        s.original = named.layer->weight.clone();
        layers.push_back(s);
    }

    ConversionReport out;
    out.batchNorms = countBatchNorms(model);
    bool masked = false; // from stage 1 on, every converted layer must hold a valid mask
    auto finishStage = [&](ConversionStage stage, Clock::time_point start, const torch::Tensor& reference, bool evaluated) {
        stage.masksValid = !masked || masksValid(layers, o);
        if (!stage.masksValid) throw std::logic_error("conversion stage " + stage.name + " left a mask that is not " + o.pattern.toString());
        if (evaluated) {
            stage.testAccuracy = evaluate();
            const auto now = logits(model, calibration);
            stage.logitError = ((now - reference).pow(2).sum() / reference.pow(2).sum().clamp_min(1e-30)).item<double>();
        } else {
            stage.testAccuracy = out.stages.back().testAccuracy;
            stage.logitError = out.stages.back().logitError;
        }
        stage.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        out.stages.push_back(stage);
    };

    // Stage 0: the model as trained, and what the reconstruction aims for.
    report("original", 0);
    auto start = Clock::now();
    const ChainActivations target = chainActivations(model, calibration);
    const torch::Tensor referenceLogits = logits(model, calibration);
    finishStage({"original", true, "", 0, 0, true, 0}, start, referenceLogits, true);

    // Stage 1: magnitude N:M mask.
    report("mask", 1);
    start = Clock::now();
    for (auto& s : layers) {
        ConvertedLayer info;
        info.name = s.name;
        info.shape = s.layer->weight.sizes().vec();
        info.converted = s.converted;
        info.densityBefore = s.original.ne(0).to(torch::kDouble).mean().item<double>();
        const double mass = s.original.abs().sum().item<double>();
        if (s.converted) {
            torch::Tensor mask;
            if (o.transposable) {
                TransposableOptions t;
                t.solver = o.exactSolver ? TransposableSolver::Exact : TransposableSolver::GreedyRepair;
                t.threads = o.threads;
                mask = transposableMask(s.original, o.pattern, t).mask;
            } else {
                mask = nmMask(s.original, o.pattern);
            }
            s.layer->weight.copy_(s.original * mask);
            s.layer->setMask(mask);
            const LayerDiversity d = layerDiversity({s.name, info.shape, o.pattern.density()}, o.pattern);
            info.log10Diversity = o.transposable ? d.transposable : d.nm;
        }
        info.keptMagnitude = mass > 0 ? s.layer->weight.abs().sum().item<double>() / mass : 1.0;
        out.layers.push_back(info);
    }
    masked = true;
    finishStage({"mask", true, o.transposable ? "transposable " + o.pattern.toString() : o.pattern.toString(), 0, 0, true, 0},
                start, referenceLogits, true);

    // Stage 2: mean absorption, layer after layer along the classifier chain.
    report("absorb", 2);
    start = Clock::now();
    {
        ConversionStage stage{"absorb", false, "", 0, 0, true, 0};
        int absorbed = 0;
        if (!o.absorbMean) {
            stage.note = "turned off";
        } else {
            auto a = classifierInput(model, calibration);
            for (size_t i = 0; i < chain.size(); ++i) {
                auto it = std::find_if(layers.begin(), layers.end(), [&](const LayerState& s) { return s.chainIndex == static_cast<int>(i); });
                if (it != layers.end() && it->converted && chain[i]->bias.defined()) {
                    absorbPrunedMean(chain[i]->bias, it->original.view({it->original.size(0), -1}), chain[i]->mask, a);
                    ++absorbed;
                }
                auto y = chain[i]->forward(a);
                a = i + 1 < chain.size() ? torch::relu(y) : y;
            }
            stage.applied = absorbed > 0;
            stage.note = absorbed > 0 ? std::to_string(absorbed) + " linear layers" : "no converted linear layer with a bias";
        }
        finishStage(stage, start, referenceLogits, stage.applied);
    }

    // Stage 3: least-squares reconstruction against the original layers' outputs, in order, so each
    // layer sees the already converted layers before it.
    report("reconstruct", 3);
    start = Clock::now();
    {
        ConversionStage stage{"reconstruct", false, "", 0, 0, true, 0};
        int reconstructed = 0;
        if (!o.reconstruct) {
            stage.note = "turned off";
        } else {
            auto a = classifierInput(model, calibration);
            for (size_t i = 0; i < chain.size(); ++i) {
                auto it = std::find_if(layers.begin(), layers.end(), [&](const LayerState& s) { return s.chainIndex == static_cast<int>(i); });
                if (it != layers.end() && it->converted) {
                    const ReconstructionResult r = reconstructLinear(chain[i]->weight, chain[i]->mask, chain[i]->bias, a,
                                                                     target.outputs[i], o.reconstruction);
                    auto& info = out.layers[static_cast<size_t>(it - layers.begin())];
                    info.reconstructed = true;
                    info.errorBefore = r.errorBefore;
                    info.errorAfter = r.errorAfter;
                    ++reconstructed;
                }
                auto y = chain[i]->forward(a);
                a = i + 1 < chain.size() ? torch::relu(y) : y;
            }
            stage.applied = reconstructed > 0;
            stage.note = reconstructed > 0 ? std::to_string(reconstructed) + " linear layers" : "no converted linear layer";
            const auto convs = std::count_if(layers.begin(), layers.end(), [](const LayerState& s) { return s.converted && s.chainIndex < 0; });
            if (convs > 0) stage.note += "; " + std::to_string(convs) + " feature layers masked only";
        }
        finishStage(stage, start, referenceLogits, stage.applied);
    }

    // Stage 4: batch-norm statistics of the converted model.
    report("batch_norm", 4);
    start = Clock::now();
    {
        ConversionStage stage{"batch_norm", false, "", 0, 0, true, 0};
        if (!o.reestimateBatchNorm) {
            stage.note = "turned off";
        } else if (out.batchNorms == 0) {
            stage.note = "the model has no batch norm";
        } else {
            reestimateBatchNorm(model, calibration, [&](const torch::Tensor& x) { return model.forward(x); });
            stage.applied = true;
            stage.note = std::to_string(out.batchNorms) + " batch norms";
        }
        finishStage(stage, start, referenceLogits, stage.applied);
    }
    report("done", kStages);
    model.eval();
    return out;
}

} // namespace srigl::nm
