// Naming conventions of masked PyTorch models, matched by suffix.
#include "engine/interop/checkpoint_layers.hpp"

#include "engine/errors.hpp"
#include "engine/training/trainer_internals.hpp"

#include <sstream>

namespace srigl::interop {
namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shapeText(const torch::Tensor& t) {
    std::ostringstream out;
    out << t.sizes();
    return out.str();
}

// The layer a weight tensor belongs to ("" when the tensor is no Linear or Conv2d weight).
std::string layerOf(const NamedTensor& t) {
    if (!t.tensor.is_floating_point() || (t.tensor.dim() != 2 && t.tensor.dim() != 4)) return "";
    for (const char* suffix : {".parametrizations.weight.original", ".weight_orig", ".weight"})
        if (endsWith(t.name, suffix) && t.name.size() > std::string(suffix).size())
            return t.name.substr(0, t.name.size() - std::string(suffix).size());
    if (t.name == "weight" || t.name == "weight_orig") return "weight"; // a lone layer's own state_dict
    return "";
}

const NamedTensor* findMask(const StateDict& sd, const std::string& layer) {
    for (const std::string& name : {layer + ".weight_mask", layer + ".mask", layer + "_mask",
                                    layer + ".parametrizations.weight.0.mask"})
        for (const auto& t : sd.tensors)
            if (t.name == name) return &t;
    for (const auto& t : sd.everything)
        if (t.name == "state." + layer + ".weight.mask" || endsWith(t.name, "." + layer + ".weight.mask") ||
            endsWith(t.name, "masks." + layer))
            return &t;
    return nullptr;
}

} // namespace

LayerMaskSnapshot packMask(const std::string& name, const torch::Tensor& mask) {
    const auto matrix = mask.reshape({mask.size(0), -1}).to(torch::kBool).contiguous();
    LayerMaskSnapshot out;
    out.name = name;
    out.outFeatures = matrix.size(0);
    out.fanIn = matrix.size(1);
    out.bits.assign(static_cast<size_t>((matrix.numel() + 7) / 8), 0);
    const bool* bits = matrix.data_ptr<bool>();
    for (int64_t i = 0; i < matrix.numel(); ++i)
        if (bits[i]) out.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
    const auto rowCounts = matrix.sum(1);
    const int64_t* counts = rowCounts.data_ptr<int64_t>();
    for (int64_t r = 0; r < out.outFeatures; ++r)
        if (counts[r] == 0) out.ablated.push_back(r);
    return out;
}

std::vector<CheckpointLayer> checkpointLayers(const StateDict& sd, const std::string& file) {
    std::vector<CheckpointLayer> layers;
    for (const auto& t : sd.tensors) {
        const std::string name = layerOf(t);
        if (name.empty()) continue;
        bool seen = false;
        for (auto& l : layers) seen = seen || l.name == name;
        if (seen) continue; // e.g. both weight and weight_orig: the first one stands
        // A layer without a weight has no mask to show, and its empty rows or columns defeat the
        // [out, fan_in] view and the statistics: refused here, naming the tensor, before the store.
        if (t.tensor.numel() == 0)
            throw CheckpointError(file + ": weight " + t.name + " has shape " + shapeText(t.tensor) +
                                  ", no weights; a layer needs at least one output and one input");
        const torch::Tensor weight = t.tensor.to(torch::kFloat);
        torch::Tensor mask;
        CheckpointLayer layer;
        layer.name = name;
        layer.shape = weight.sizes().vec();
        if (const NamedTensor* m = findMask(sd, name)) {
            if (m->tensor.sizes() != weight.sizes())
                throw CheckpointError(file + ": mask " + m->name + " has shape " + shapeText(m->tensor) + " but weight " +
                                      t.name + " has " + shapeText(weight));
            mask = m->tensor.ne(0);
            layer.maskSource = m->name;
        } else {
            mask = weight.ne(0);
            layer.maskSource = "nonzero weights";
        }
        layer.mask = packMask(name, mask);
        layer.stats = describeMask(name, mask);
        layer.stats.compute = "masked_dense";
        if (layer.stats.active > 0 && layer.stats.fanInMin == layer.stats.fanInMax) layer.stats.k = layer.stats.fanInMin;
        const auto masked = (weight * mask).reshape({weight.size(0), -1}).contiguous();
        layer.weights.name = name;
        layer.weights.outFeatures = masked.size(0);
        layer.weights.fanIn = masked.size(1);
        layer.weights.values.assign(masked.data_ptr<float>(), masked.data_ptr<float>() + masked.numel());
        layers.push_back(std::move(layer));
    }
    if (layers.empty())
        throw CheckpointError(file + ": no Linear or Conv2d weight in it (a 2-D or 4-D floating-point tensor named "
                                     "<layer>.weight" +
                              std::string(sd.path.empty() ? "" : " under '" + sd.path + "'") + ")");
    return layers;
}

std::vector<CheckpointLayer> readCheckpointLayers(const std::string& file) {
    const PickleRef root = readPyTorchFile(file);
    return checkpointLayers(findStateDict(*root, file), file);
}

} // namespace srigl::interop
