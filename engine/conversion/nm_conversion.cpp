// Reconstruction and mean absorption need each layer's inputs. The classifier's linear layers read
// them from features(x) and the chain (ReLU between layers); convolutions read theirs from the
// autograd graph of a forward pass (engine/conversion/layer_inputs.hpp), one layer at a time in the order
// of the forward pass, so that each layer is fitted to what the already converted layers before it
// now produce, against what the original layer produced from the original model's activations.
#include "engine/conversion/nm_conversion.hpp"

#include "engine/errors.hpp"
#include "engine/conversion/batch_norm_reestimation.hpp"
#include "engine/conversion/conv_reconstruction.hpp"
#include "engine/conversion/layer_inputs.hpp"
#include "engine/analysis/mask_diversity.hpp"
#include "engine/conversion/mean_absorption.hpp"
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
    SparseConv2dImpl* conv = nullptr;
    torch::Tensor original;     // weight * old mask, before conversion
    torch::Tensor originalBias; // undefined for layers without a bias
};

// Calibration batches cut into pieces of at most `size` samples: a convolution's input is read
// from a forward pass that keeps its autograd graph, whose memory grows with the batch.
std::vector<torch::Tensor> smallBatches(const std::vector<torch::Tensor>& calibration, int64_t size) {
    std::vector<torch::Tensor> out;
    for (const auto& batch : calibration)
        for (int64_t start = 0; start < batch.size(0); start += size)
            out.push_back(batch.slice(0, start, std::min(batch.size(0), start + size)));
    return out;
}

// Puts the original weights and biases back into every layer for its lifetime (to read the
// original model's activations), then the converted ones. The straight-through flag is cleared
// meanwhile: it would multiply the original weights by the new masks.
class OriginalWeights {
public:
    explicit OriginalWeights(std::vector<LayerState>& layers) : layers_(layers) {
        for (auto& s : layers_) {
            straightThrough_.push_back(s.layer->straightThrough);
            s.layer->straightThrough = false;
            converted_.push_back(s.layer->weight.clone());
            convertedBias_.push_back(s.layer->bias.defined() ? s.layer->bias.clone() : torch::Tensor());
            s.layer->weight.copy_(s.original);
            if (s.originalBias.defined()) s.layer->bias.copy_(s.originalBias);
        }
    }
    ~OriginalWeights() {
        torch::NoGradGuard noGrad;
        for (size_t i = 0; i < layers_.size(); ++i) {
            layers_[i].layer->weight.copy_(converted_[i]);
            if (convertedBias_[i].defined()) layers_[i].layer->bias.copy_(convertedBias_[i]);
            layers_[i].layer->straightThrough = straightThrough_[i];
        }
    }
    OriginalWeights(const OriginalWeights&) = delete;
    OriginalWeights& operator=(const OriginalWeights&) = delete;

private:
    std::vector<LayerState>& layers_;
    std::vector<torch::Tensor> converted_, convertedBias_;
    std::vector<bool> straightThrough_;
};

// Undefined when the forward pass did not show the layer's input (then the layer is masked only).
torch::Tensor inputOf(SparseModelImpl& model, const torch::Tensor& batch, SparseLayer* layer) {
    return convolutionInputs(model, batch, {layer}).front();
}

std::string layerCount(int convs, int linears) {
    std::string text;
    if (convs > 0) text = std::to_string(convs) + " conv";
    if (linears > 0) text += (text.empty() ? "" : " + ") + std::to_string(linears) + " linear";
    return text + " layers";
}

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
    return text;
}

// Samples per forward pass when convolution inputs are read (see smallBatches).
constexpr int64_t kConvolutionBatch = 32;

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

// What stage 3 reports for one refit layer.
void recordRefit(ConvertedLayer& info, const ReconstructionResult& r) {
    info.reconstructed = true;
    info.errorBefore = r.errorBefore;
    info.errorAfter = r.errorAfter;
    info.iterative = r.rowsIterative > 0;
    info.iterations = r.iterations;
    info.relativeResidual = r.maxRelativeResidual;
}

bool masksValid(const std::vector<LayerState>& layers, const ConversionOptions& o) {
    for (const auto& l : layers) {
        if (!l.converted) continue;
        // The check training reports as nm_valid (engine/sparsity/nm_method.cpp). A transposable
        // mask with padded edge tiles may keep fewer than min(N, r) of a trailing group's r real
        // inputs (padding columns take part of the column quota), so it is checked as tiles only.
        if (!(o.transposable ? transposableValid(l.layer->mask, o.pattern) : nmValid(l.layer->mask, o.pattern))) return false;
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
    // Fan-ins that are not a multiple of M convert too: nmMask treats them as padded with zero
    // weights (a trailing group of r < M inputs keeps min(N, r)), as training does.
    const auto converted = std::count_if(layers.begin(), layers.end(), [&](const NamedSparseLayer& l) { return !isSkipped(o, l.name); });
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
        s.conv = dynamic_cast<SparseConv2dImpl*>(named.layer);
        for (size_t i = 0; i < chain.size(); ++i)
            if (static_cast<SparseLayer*>(chain[i]) == named.layer) s.chainIndex = static_cast<int>(i);
        // A straight-through N:M run keeps dense weights behind its mask: what it computes is W * M.
        named.layer->weight.mul_(named.layer->mask);
        s.original = named.layer->weight.clone();
        if (named.layer->bias.defined()) s.originalBias = named.layer->bias.detach().clone();
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

    // Convolutions are handled in the order of the forward pass (registration order in the engine's
    // models; a residual block's shortcut and its second convolution read different inputs).
    const std::vector<torch::Tensor> pieces = smallBatches(calibration, kConvolutionBatch);

    // Stage 2: mean absorption, convolutions first (the mean input patch), then layer after layer
    // along the classifier chain.
    report("absorb", 2);
    start = Clock::now();
    {
        ConversionStage stage{"absorb", false, "", 0, 0, true, 0};
        int absorbedConvs = 0, absorbed = 0;
        if (!o.absorbMean) {
            stage.note = "turned off";
        } else {
            for (auto& s : layers) {
                if (!s.converted || !s.conv || !s.conv->bias.defined()) continue;
                torch::Tensor sum;
                int64_t count = 0;
                for (const auto& piece : pieces) {
                    const auto in = inputOf(model, piece, s.layer);
                    if (!in.defined()) break;
                    const auto patches = convolutionPatches(*s.conv, in).to(torch::kDouble);
                    sum = sum.defined() ? sum + patches.sum(0) : patches.sum(0);
                    count += patches.size(0);
                }
                if (count == 0) continue;
                absorbPrunedMean(s.conv->bias, s.original.view({s.original.size(0), -1}), s.layer->maskMatrix(),
                                 (sum / static_cast<double>(count)).unsqueeze(0));
                ++absorbedConvs;
            }
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
            stage.applied = absorbed + absorbedConvs > 0;
            stage.note = stage.applied ? layerCount(absorbedConvs, absorbed) : "no converted layer with a bias";
        }
        finishStage(stage, start, referenceLogits, stage.applied);
    }

    // Stage 3: least-squares reconstruction against the original layers' outputs, in order, so each
    // layer sees the already converted layers before it.
    report("reconstruct", 3);
    start = Clock::now();
    {
        ConversionStage stage{"reconstruct", false, "", 0, 0, true, 0};
        int reconstructedConvs = 0, reconstructed = 0;
        std::vector<std::string> iterative, unreadable;
        if (!o.reconstruct) {
            stage.note = "turned off";
        } else {
            for (size_t index = 0; index < layers.size(); ++index) {
                auto& s = layers[index];
                if (!s.converted || !s.conv) continue;
                ReconstructionStatistics stats(s.conv->bias.defined());
                bool readable = true;
                for (const auto& piece : pieces) {
                    const auto now = inputOf(model, piece, s.layer);
                    torch::Tensor before;
                    {
                        OriginalWeights original(layers);
                        before = inputOf(model, piece, s.layer);
                    }
                    if (!now.defined() || !before.defined()) {
                        readable = false;
                        break;
                    }
                    const auto target = torch::conv2d(before, s.original, s.originalBias, {s.conv->stride, s.conv->stride},
                                                      {s.conv->padding, s.conv->padding});
                    addConvolutionBatch(stats, *s.conv, now, target);
                }
                if (!readable) {
                    unreadable.push_back(s.name);
                    continue;
                }
                const ReconstructionResult r = reconstructFromStatistics(s.conv->weight, s.conv->mask, s.conv->bias, stats, o.reconstruction);
                recordRefit(out.layers[index], r);
                if (out.layers[index].iterative) iterative.push_back(s.name);
                ++reconstructedConvs;
            }
            auto a = classifierInput(model, calibration);
            for (size_t i = 0; i < chain.size(); ++i) {
                auto it = std::find_if(layers.begin(), layers.end(), [&](const LayerState& s) { return s.chainIndex == static_cast<int>(i); });
                if (it != layers.end() && it->converted) {
                    const ReconstructionResult r = reconstructLinear(chain[i]->weight, chain[i]->mask, chain[i]->bias, a,
                                                                     target.outputs[i], o.reconstruction);
                    auto& info = out.layers[static_cast<size_t>(it - layers.begin())];
                    recordRefit(info, r);
                    if (info.iterative) iterative.push_back(it->name);
                    ++reconstructed;
                }
                auto y = chain[i]->forward(a);
                a = i + 1 < chain.size() ? torch::relu(y) : y;
            }
            stage.applied = reconstructed + reconstructedConvs > 0;
            stage.note = stage.applied ? layerCount(reconstructedConvs, reconstructed) : "no layer refit";
            if (!iterative.empty())
                stage.note += "; conjugate gradient for rows keeping more than " + std::to_string(o.reconstruction.maxDirect) +
                              " inputs: " + joined(iterative);
            if (!unreadable.empty()) stage.note += "; masked only, input not found in the forward pass: " + joined(unreadable);
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
