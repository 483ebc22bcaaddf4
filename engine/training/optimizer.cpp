// SGD and AdamW, matching torch.optim.SGD (PyTorch's momentum/Nesterov form) and torch.optim.AdamW.
#include "engine/training/optimizer.hpp"

#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"

#include <cmath>

namespace srigl {

Optimizer::Optimizer(std::vector<torch::Tensor> params, OptimizerSettings settings)
    : params_(std::move(params)), settings_(std::move(settings)) {
    if (settings_.kind != "sgd" && settings_.kind != "adamw")
        throw ConfigError("optimizer", "unknown optimizer '" + settings_.kind + "'");
    for (const auto& p : params_) {
        first_.push_back(torch::zeros_like(p));
        second_.push_back(settings_.kind == "adamw" ? torch::zeros_like(p) : torch::Tensor());
    }
}

void Optimizer::zeroGrad() {
    for (auto& p : params_) {
        if (p.grad().defined()) p.mutable_grad().zero_();
    }
}

void Optimizer::step(double lr) {
    torch::NoGradGuard noGrad;
    ++steps_;
    for (size_t i = 0; i < params_.size(); ++i) {
        auto& p = params_[i];
        if (!p.grad().defined()) continue;
        auto g = p.grad();
        if (settings_.kind == "sgd") {
            if (settings_.weightDecay != 0.0) g = g.add(p, settings_.weightDecay);
            if (settings_.momentum != 0.0) {
                auto& buf = first_[i];
                // PyTorch initialises the buffer with the first gradient (no dampening).
                if (steps_ == 1) buf.copy_(g);
                else buf.mul_(settings_.momentum).add_(g);
                g = settings_.nesterov ? g.add(buf, settings_.momentum) : buf;
            }
            p.add_(g, -lr);
        } else {
            p.mul_(1.0 - lr * settings_.weightDecay);
            auto& m = first_[i];
            auto& v = second_[i];
            m.mul_(settings_.beta1).add_(g, 1.0 - settings_.beta1);
            v.mul_(settings_.beta2).addcmul_(g, g, 1.0 - settings_.beta2);
            const double bc1 = 1.0 - std::pow(settings_.beta1, static_cast<double>(steps_));
            const double bc2 = 1.0 - std::pow(settings_.beta2, static_cast<double>(steps_));
            auto denom = (v / bc2).sqrt_().add_(settings_.eps);
            p.addcdiv_(m, denom, -lr / bc1);
        }
    }
}

void Optimizer::maskState(size_t index, const torch::Tensor& maskFactor) {
    torch::NoGradGuard noGrad;
    first_[index].mul_(maskFactor);
    if (second_[index].defined()) second_[index].mul_(maskFactor);
}

std::vector<torch::Tensor> Optimizer::state(size_t index) const {
    std::vector<torch::Tensor> out{first_[index]};
    if (second_[index].defined()) out.push_back(second_[index]);
    return out;
}

void Optimizer::replaceParameter(size_t index, const torch::Tensor& param,
                                 const std::function<torch::Tensor(const torch::Tensor&)>& convert) {
    torch::NoGradGuard noGrad;
    params_.at(index) = param;
    first_[index] = convert(first_[index]);
    if (second_[index].defined()) second_[index] = convert(second_[index]);
}

void Optimizer::save(torch::serialize::OutputArchive& archive, const StateExport& exportState) const {
    archive.write("optimizer.steps", torch::tensor(steps_));
    auto out = [&](size_t i, const torch::Tensor& t) { return exportState ? exportState(i, t) : t; };
    for (size_t i = 0; i < params_.size(); ++i) {
        archive.write("optimizer.first." + std::to_string(i), out(i, first_[i]), /*is_buffer=*/true);
        if (second_[i].defined()) archive.write("optimizer.second." + std::to_string(i), out(i, second_[i]), true);
    }
}

void Optimizer::load(torch::serialize::InputArchive& archive) {
    torch::NoGradGuard noGrad;
    // A fresh tensor per read: reading into a defined tensor re-points it (set_) instead of copying.
    auto read = [&](const std::string& key, const torch::Tensor& target, bool buffer = true) {
        torch::Tensor t;
        archive.read(key, t, buffer);
        if (target.defined() && !t.sizes().equals(target.sizes()))
            throw CheckpointError("optimizer state " + key + " does not match the model");
        return t;
    };
    steps_ = read("optimizer.steps", torch::Tensor(), /*buffer=*/false).item<int64_t>();
    for (size_t i = 0; i < params_.size(); ++i) {
        first_[i].copy_(read("optimizer.first." + std::to_string(i), first_[i]));
        if (second_[i].defined()) second_[i].copy_(read("optimizer.second." + std::to_string(i), second_[i]));
    }
}

OptimizerSettings optimizerSettingsFor(const RunConfig& config) {
    OptimizerSettings os;
    os.kind = config.optimizer;
    os.momentum = config.momentum;
    os.nesterov = config.nesterov;
    os.weightDecay = config.weight_decay;
    os.beta1 = config.beta1;
    os.beta2 = config.beta2;
    os.eps = config.adam_eps;
    return os;
}

} // namespace srigl
