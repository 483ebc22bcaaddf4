// model=torchscript: a user's module saved by torch.jit.script/trace + save, trained like a built-in
// model. Its Linear and Conv2d layers (or those sparse_layers names) become sparse layers; every
// other parameter and buffer (BatchNorm's included) trains and is checkpointed under its PyTorch name.
#pragma once

#include "engine/models/sparse_model.hpp"

#include <memory>
#include <string>
#include <vector>

namespace torch::jit {
struct Module;
}

namespace srigl {

class ScriptedLayerImpl;

class TorchScriptModelImpl : public SparseModelImpl {
public:
    // Loads `path` and checks that it takes the dataset's input (a batch of `input` images) and gives
    // one score per class; throws ConfigError naming the file (and both shapes where they disagree).
    // `sparsePatterns`: comma-separated globs over layer names (fc1, features.*); empty: every
    // Linear and Conv2d.
    TorchScriptModelImpl(const std::string& path, const std::string& sparsePatterns, const InputShape& input);
    ~TorchScriptModelImpl() override;

    torch::Tensor forward(torch::Tensor x) override;
    // A scripted module's layers are not a chain the engine knows: condensed inference and N:M
    // conversion, which fold the classifier, refuse it (InferenceError).
    torch::Tensor features(torch::Tensor x) override;
    std::vector<SparseLinearImpl*> classifier() override;
    // BatchNorm and Dropout follow the scripted module's own training flag.
    void train(bool on = true) override;

    const std::string& path() const { return path_; }
    // Writes the scripted module with each sparse layer's weight W * M (torch.jit.load reads it).
    void saveScripted(const std::string& file);

private:
    std::string path_;
    std::unique_ptr<torch::jit::Module> script_;
    std::vector<ScriptedLayerImpl*> layers_;
};

// The scripted model behind `model` when it is one, else nullptr.
TorchScriptModelImpl* asTorchScript(SparseModelImpl& model);

} // namespace srigl
