#include "engine/conversion/batch_norm_reestimation.hpp"

#include <functional>
#include <stdexcept>

namespace srigl::nm {

namespace {

template <typename Fn>
void forEachBatchNorm(torch::nn::Module& model, Fn&& fn) {
    for (const auto& module : model.modules(/*include_self=*/false)) {
        if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(module)) fn(*bn);
        else if (auto bn1 = std::dynamic_pointer_cast<torch::nn::BatchNorm1dImpl>(module)) fn(*bn1);
    }
}

} // namespace

int countBatchNorms(torch::nn::Module& model) {
    int count = 0;
    forEachBatchNorm(model, [&](auto&) { ++count; });
    return count;
}

int reestimateBatchNorm(torch::nn::Module& model, const std::vector<torch::Tensor>& batches,
                        const std::function<torch::Tensor(const torch::Tensor&)>& forward) {
    if (batches.empty()) throw std::invalid_argument("batch-norm re-estimation needs calibration batches");
    std::vector<c10::optional<double>> momenta;
    int count = 0;
    forEachBatchNorm(model, [&](auto& bn) {
        momenta.emplace_back(bn.options.momentum());
        bn.options.momentum(c10::nullopt);
        bn.reset_running_stats();
        ++count;
    });
    if (count == 0) return 0;
    torch::NoGradGuard noGrad;
    model.train();
    try {
        for (const auto& batch : batches) forward(batch);
    } catch (...) {
        model.eval();
        throw;
    }
    model.eval();
    size_t i = 0;
    forEachBatchNorm(model, [&](auto& bn) { bn.options.momentum(momenta[i++]); });
    return count;
}

} // namespace srigl::nm
