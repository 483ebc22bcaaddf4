// Enumeration of sparse layers and the model factory.
#include "engine/models/sparse_model.hpp"

#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"
#include "engine/models/lenet5.hpp"
#include "engine/models/mlp.hpp"
#include "engine/models/resnet18.hpp"
#include "engine/models/torchscript_model.hpp"
#include "engine/models/wide_resnet.hpp"

namespace srigl {

std::vector<NamedSparseLayer> SparseModelImpl::sparseLayers() {
    std::vector<NamedSparseLayer> out;
    for (const auto& item : named_modules("", /*include_self=*/false)) {
        if (auto* layer = dynamic_cast<SparseLayer*>(item.value().get())) out.push_back({item.key(), layer});
    }
    return out;
}

std::vector<std::string> modelNames() { return {"mlp", "lenet5", "resnet18", "wrn22_2"}; }

std::shared_ptr<SparseModelImpl> buildModel(const std::string& name, const std::string& hidden,
                                            const InputShape& input) {
    if (name == "mlp") return std::make_shared<MlpImpl>(input, parseIntList("hidden", hidden));
    if (name == "lenet5") return std::make_shared<LeNet5Impl>(input);
    if (name == "resnet18") return std::make_shared<ResNet18Impl>(input);
    if (name == "wrn22_2") return std::make_shared<WideResNetImpl>(input, 22, 2);
    throw ConfigError("model", "unknown model '" + name + "' (expected mlp, lenet5, resnet18 or wrn22_2)");
}

std::shared_ptr<SparseModelImpl> buildModel(const RunConfig& config, const InputShape& input) {
    if (config.model == "torchscript") return std::make_shared<TorchScriptModelImpl>(config.model_path, config.sparse_layers, input);
    return buildModel(config.model, config.hidden, input);
}

InputShape inputShapeOf(const std::string& dataset) {
    if (dataset == "cifar10" || dataset == "synthetic_cifar") return InputShape{3, 32, 32, 10};
    return InputShape{1, 28, 28, 10};
}

} // namespace srigl
