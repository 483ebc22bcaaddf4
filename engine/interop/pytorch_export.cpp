// State_dict names follow torch.nn (module path + parameter name), so a Python model with the same
// module names loads the weights with load_state_dict(strict=False) (the masks are extra keys).
#include "engine/interop/pytorch_export.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <map>

namespace srigl::interop {

std::vector<NamedTensor> sparseStateDict(SparseModelImpl& model) {
    torch::NoGradGuard noGrad;
    std::map<std::string, torch::Tensor> sparse; // the sparse layers' weights and masks, by key
    for (const auto& named : model.sparseLayers()) {
        const auto& shape = named.layer->weightShape();
        const auto mask = named.layer->denseMaskMatrix().to(torch::kCPU).to(torch::kBool);
        const auto weight = named.layer->denseWeightMatrix().to(torch::kCPU, torch::kFloat) * mask;
        sparse[named.name + ".weight"] = weight.reshape(shape);
        sparse[named.name + ".mask"] = mask.reshape(shape);
    }
    std::vector<NamedTensor> out;
    auto add = [&](const std::string& key, const torch::Tensor& value) {
        const auto it = sparse.find(key);
        out.push_back({key, it != sparse.end() ? it->second : value.detach().to(torch::kCPU)});
    };
    for (const auto& p : model.named_parameters(true)) add(p.key(), p.value());
    for (const auto& b : model.named_buffers(true)) add(b.key(), b.value());
    return out;
}

std::vector<NamedTensor> checkPair(SparseModelImpl& model, const InputShape& input, int64_t batch) {
    torch::NoGradGuard noGrad;
    auto generator = at::detail::createCPUGenerator(20240917);
    const auto x = at::randn({batch, input.channels, input.height, input.width}, generator);
    const bool training = model.is_training();
    model.eval();
    const auto y = model.forward(x).to(torch::kCPU, torch::kFloat);
    model.train(training);
    return {{"input", x}, {"output", y}};
}

namespace {
std::string besidePath(const std::string& path, const std::string& tag) {
    std::filesystem::path p(path);
    return (p.parent_path() / (p.stem().string() + tag + (p.has_extension() ? p.extension().string() : ".pt"))).string();
}
} // namespace

std::string checkPathFor(const std::string& path) { return besidePath(path, ".check"); }
std::string scriptPathFor(const std::string& path) { return besidePath(path, ".script"); }

} // namespace srigl::interop
