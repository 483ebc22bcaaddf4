// Loading a scripted module, mirroring its module tree as torch::nn modules (so parameters,
// buffers, checkpoints and state_dict names are PyTorch's), and running its own forward.
#include "engine/models/torchscript_model.hpp"

#include "engine/archive/checked_zip_file.hpp"
#include "engine/errors.hpp"
#include "engine/models/scripted_layer.hpp"

#include <torch/script.h>

#include <fnmatch.h>

#include <filesystem>
#include <sstream>

namespace srigl {
namespace {

std::string shapeText(const std::vector<int64_t>& dims) {
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
    out << "]";
    return out.str();
}

// The line of a TorchScript interpreter error that says what went wrong (its message ends with
// "RuntimeError: ..." after a traceback), shortened for a one-line error.
std::string reasonOf(const std::exception& e) {
    const auto* c10 = dynamic_cast<const c10::Error*>(&e);
    std::istringstream lines(c10 ? c10->what_without_backtrace() : e.what());
    std::string line, reason;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        if (reason.empty() || line.rfind("RuntimeError: ", 0) == 0) reason = line;
    }
    return reason.size() > 240 ? reason.substr(0, 240) + "..." : reason;
}

std::vector<std::string> splitPatterns(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) {
        const auto first = item.find_first_not_of(" \t");
        if (first == std::string::npos) continue;
        out.push_back(item.substr(first, item.find_last_not_of(" \t") - first + 1));
    }
    return out;
}

torch::Tensor weightOf(const torch::jit::Module& m) {
    for (const auto& p : m.named_parameters(/*recurse=*/false))
        if (p.name == "weight") return p.value;
    return {};
}

// "Linear" or "Conv2d" for torch.nn's own layers (scripted or traced; TorchScript may mangle the
// qualified name, never the class name); "" otherwise.
std::string torchNnLayerKind(const torch::jit::Module& m) {
    const auto name = m.type()->name();
    if (!name || name->qualifiedName().find("torch.nn.modules.") == std::string::npos) return {};
    const torch::Tensor w = weightOf(m);
    if (name->name() == "Linear" && w.defined() && w.dim() == 2) return "Linear";
    if (name->name() == "Conv2d" && w.defined() && w.dim() == 4) return "Conv2d";
    return {};
}

// Which modules become sparse layers: torch.nn's Linear and Conv2d layers, or with patterns, the
// modules they name that hold a 2-D or 4-D weight (a user's own layer that calls F.linear counts).
struct Selection {
    std::vector<std::string> patterns;
    std::vector<bool> patternUsed;
    std::vector<std::string> candidates; // for error messages

    std::string kindOf(const torch::jit::Module& m, const std::string& path) {
        std::string kind = torchNnLayerKind(m);
        const torch::Tensor w = weightOf(m);
        const bool shaped = w.defined() && (w.dim() == 2 || w.dim() == 4);
        if (!kind.empty() || shaped) candidates.push_back(path);
        if (patterns.empty()) return kind;
        bool named = false;
        for (size_t i = 0; i < patterns.size(); ++i)
            if (fnmatch(patterns[i].c_str(), path.c_str(), 0) == 0) named = patternUsed[i] = true;
        if (!named || !shaped) return {};
        return kind.empty() ? m.type()->name()->name() : kind;
    }
};

void registerTensors(torch::nn::Module& node, const torch::jit::Module& m) {
    for (const auto& p : m.named_parameters(/*recurse=*/false)) node.register_parameter(p.name, p.value, true);
    for (const auto& b : m.named_buffers(/*recurse=*/false)) node.register_buffer(b.name, b.value);
}

void mirrorChildren(torch::nn::Module& node, const torch::jit::Module& m, const std::string& prefix, Selection& selection,
                    std::vector<ScriptedLayerImpl*>& layers) {
    for (const auto& child : m.named_children()) {
        const std::string path = prefix.empty() ? child.name : prefix + "." + child.name;
        const std::string kind = selection.kindOf(child.value, path);
        if (!kind.empty()) {
            auto layer = std::make_shared<ScriptedLayerImpl>(child.value, kind);
            layers.push_back(layer.get());
            node.register_module(child.name, layer);
            mirrorChildren(*layer, child.value, path, selection, layers);
        } else {
            auto plain = std::make_shared<torch::nn::Module>();
            registerTensors(*plain, child.value);
            node.register_module(child.name, plain);
            mirrorChildren(*plain, child.value, path, selection, layers);
        }
    }
}

torch::jit::Module loadScript(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw ConfigError("model_path", path + ": no such file");
    if (!std::filesystem::is_regular_file(path, ec)) throw ConfigError("model_path", path + " is not a file");
    const auto notAModule = [&](const std::string& reason) {
        return ConfigError("model_path", path + " is not a TorchScript module (a file torch.jit.save writes; a "
                                                "state_dict from torch.save is read by `srigl import`): " + reason);
    };
    // LibTorch's zip reader allocates what each record claims before it inflates it: a zip bomb
    // is refused first, and LibTorch reads the file that was checked (the same open file).
    std::shared_ptr<CheckedZipFile> file;
    try {
        file = openCheckedZip(path);
    } catch (const CheckpointError& e) {
        const std::string what = e.what();
        throw notAModule(what.rfind(path + ": ", 0) == 0 ? what.substr(path.size() + 2) : what);
    }
    try {
        return torch::jit::load(file, torch::kCPU);
    } catch (const std::exception& e) {
        throw notAModule(reasonOf(e));
    }
}

} // namespace

TorchScriptModelImpl::TorchScriptModelImpl(const std::string& path, const std::string& sparsePatterns,
                                           const InputShape& input)
    : path_(path), script_(std::make_unique<torch::jit::Module>(loadScript(path))) {
    for (const auto& p : script_->named_parameters(/*recurse=*/true))
        if (p.value.scalar_type() != torch::kFloat)
            throw ConfigError("model_path", path + ": parameter " + p.name + " is " + c10::toString(p.value.scalar_type()) +
                                                "; SRigL Studio trains float32 modules (call model.float() before scripting)");
    Selection selection;
    selection.patterns = splitPatterns(sparsePatterns);
    selection.patternUsed.assign(selection.patterns.size(), false);
    registerTensors(*this, *script_);
    mirrorChildren(*this, *script_, "", selection, layers_);
    std::string known;
    for (const auto& c : selection.candidates) known += (known.empty() ? "" : ", ") + c;
    for (size_t i = 0; i < selection.patterns.size(); ++i)
        if (!selection.patternUsed[i])
            throw ConfigError("sparse_layers", "'" + selection.patterns[i] + "' names no layer of " + path +
                                                   " (layers with a weight: " + (known.empty() ? "none" : known) + ")");
    if (layers_.empty())
        throw ConfigError("model_path", path + " has no Linear or Conv2d layer to make sparse" +
                                            (known.empty() ? std::string() : " among those chosen (layers with a weight: " + known + ")"));
    train(true);

    // The dataset's input must fit before training starts, not at the first step.
    torch::NoGradGuard noGrad;
    const std::vector<int64_t> inShape{2, input.channels, input.height, input.width};
    torch::Tensor y;
    try {
        script_->eval(); // no BatchNorm statistics from the probe
        c10::IValue out = script_->forward({torch::zeros(inShape)});
        script_->train(true);
        if (!out.isTensor())
            throw ConfigError("model_path", path + " returns a " + out.tagKind() + ", not a tensor of class scores");
        y = out.toTensor();
    } catch (const ConfigError&) {
        throw;
    } catch (const std::exception& e) { // c10::Error, or the interpreter's own std::runtime_error
        script_->train(true);
        const auto first = layers_.front();
        throw ConfigError("model_path", path + " does not take the dataset's input " + shapeText(inShape) +
                                            " (its first sparse layer has weight " + shapeText(first->weightShape()) +
                                            "): " + reasonOf(e));
    }
    if (y.dim() != 2 || y.size(1) != input.numClasses)
        throw ConfigError("model_path", path + " gives an output of shape " + shapeText(y.sizes().vec()) + " for input " +
                                            shapeText(inShape) + "; the dataset needs [2, " +
                                            std::to_string(input.numClasses) + "] (one score per class)");
}

TorchScriptModelImpl::~TorchScriptModelImpl() = default;

torch::Tensor TorchScriptModelImpl::forward(torch::Tensor x) {
    struct Binding {
        std::vector<ScriptedLayerImpl*>& layers;
        ~Binding() {
            for (auto* layer : layers) layer->unbindForwardWeight();
        }
    } binding{layers_};
    for (auto* layer : layers_) layer->bindForwardWeight();
    c10::IValue out = script_->forward({x});
    if (!out.isTensor()) throw InferenceError(path_ + " returned a " + out.tagKind() + ", not a tensor");
    return out.toTensor();
}

torch::Tensor TorchScriptModelImpl::features(torch::Tensor) {
    throw InferenceError("a torchscript model computes with its own code: condensed inference and N:M conversion "
                         "need a built-in model (mlp, lenet5, resnet18, wrn22_2)");
}

std::vector<SparseLinearImpl*> TorchScriptModelImpl::classifier() { return {}; }

void TorchScriptModelImpl::train(bool on) {
    torch::nn::Module::train(on);
    if (script_) script_->train(on);
}

void TorchScriptModelImpl::saveScripted(const std::string& file) {
    torch::NoGradGuard noGrad;
    for (auto* layer : layers_)
        layer->setScriptedWeight((layer->denseWeightMatrix() * layer->denseMaskMatrix()).view(layer->weightShape()).contiguous());
    try {
        script_->save(file);
    } catch (...) {
        for (auto* layer : layers_) layer->setScriptedWeight({});
        throw;
    }
    for (auto* layer : layers_) layer->setScriptedWeight({});
}

TorchScriptModelImpl* asTorchScript(SparseModelImpl& model) { return dynamic_cast<TorchScriptModelImpl*>(&model); }

} // namespace srigl
