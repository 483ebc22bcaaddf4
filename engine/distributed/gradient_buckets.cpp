// Bucketed gradient averaging (flatten, all-reduce, unflatten), optionally started from autograd
// hooks so that communication overlaps the rest of backward.
#include "engine/distributed/gradient_buckets.hpp"

#include <stdexcept>
#include <string>

namespace srigl {

std::vector<std::vector<size_t>> planBuckets(const std::vector<int64_t>& numels, int64_t capElements) {
    if (capElements < 1) throw std::invalid_argument("planBuckets: the bucket cap must be at least 1 element");
    std::vector<std::vector<size_t>> buckets;
    int64_t filled = 0;
    for (size_t i = 0; i < numels.size(); ++i) {
        if (buckets.empty() || filled + numels[i] > capElements) {
            buckets.emplace_back();
            filled = 0;
        }
        buckets.back().push_back(i);
        filled += numels[i];
    }
    return buckets;
}

GradientAverager::GradientAverager(std::vector<torch::Tensor> params, int64_t capElements)
    : params_(std::move(params)), bucketOf_(params_.size()), offsetOf_(params_.size()), packed_(params_.size(), 0) {
    std::vector<int64_t> numels;
    for (auto it = params_.rbegin(); it != params_.rend(); ++it) numels.push_back(it->numel());
    buckets_ = planBuckets(numels, capElements);
    for (size_t b = 0; b < buckets_.size(); ++b) {
        int64_t n = 0;
        for (size_t& i : buckets_[b]) {
            i = params_.size() - 1 - i; // back to the model's index
            bucketOf_[i] = b;
            offsetOf_[i] = n;
            n += params_[i].numel();
        }
        // On the parameters' device: a GPU's buckets are all-reduced where backward wrote them.
        buffers_.push_back(torch::empty({n}, params_[buckets_[b].front()].options().requires_grad(false)));
        missing_.push_back(buckets_[b].size());
    }
}

GradientAverager::~GradientAverager() {
    for (const auto& [param, hook] : hooks_) params_[param].remove_hook(hook);
}

void GradientAverager::overlapWithBackward(ProcessGroup& group) {
    if (overlapGroup_) return;
    overlapGroup_ = &group;
    for (size_t i = 0; i < params_.size(); ++i) {
        // A tensor outside autograd (its .grad() set by hand) is packed by average() instead.
        if (!params_[i].requires_grad()) continue;
        hooks_.emplace_back(i, params_[i].register_hook([this, i](torch::Tensor fresh) {
            std::lock_guard<std::mutex> lock(mutex_);
            pack(i, &fresh);
            const size_t before = inFlight_.size();
            startReadyBuckets(*overlapGroup_);
            startedEarly_ += inFlight_.size() - before;
        }));
    }
}

// The hook sees the gradient before autograd adds it to .grad(), so the value to average is
// what .grad() already holds (none or zeros after zeroGrad) plus the fresh one.
void GradientAverager::pack(size_t i, const torch::Tensor* fresh) {
    torch::NoGradGuard noGrad;
    if (packed_[i]) throw std::logic_error("GradientAverager: parameter " + std::to_string(i) + " got two gradients in one step");
    const torch::Tensor& current = params_[i].grad();
    if (!fresh && !current.defined())
        throw std::logic_error("GradientAverager: parameter " + std::to_string(i) + " has no gradient");
    auto slot = buffers_[bucketOf_[i]].narrow(0, offsetOf_[i], params_[i].numel());
    if (current.defined()) slot.copy_(current.reshape({-1}));
    if (fresh) {
        if (current.defined()) slot.add_(fresh->reshape({-1}));
        else slot.copy_(fresh->reshape({-1}));
    }
    packed_[i] = 1;
    --missing_[bucketOf_[i]];
}

void GradientAverager::startReadyBuckets(ProcessGroup& group) {
    while (inFlight_.size() < buckets_.size() && missing_[inFlight_.size()] == 0) {
        const size_t b = inFlight_.size();
        inFlight_.push_back(group.allreduceAsync(buffers_[b], ReduceKind::Sum, "all-reduce of gradient bucket " + std::to_string(b)));
    }
}

void GradientAverager::average(ProcessGroup& group) {
    torch::NoGradGuard noGrad;
    std::lock_guard<std::mutex> lock(mutex_);
    // Whatever the hooks did not see (no overlap, or a parameter backward did not reach).
    for (size_t i = 0; i < params_.size(); ++i)
        if (!packed_[i]) pack(i, nullptr);
    startReadyBuckets(group);
    const double scale = 1.0 / static_cast<double>(group.size());
    for (size_t b = 0; b < buckets_.size(); ++b) {
        // On a GPU (NCCL) wait() only makes the current stream wait for the bucket's all-reduce on
        // NCCL's stream: the scaling and the copies into .grad() queue behind it, with no host sync
        // per bucket. (The hooks' copies into the bucket were queued before its all-reduce started.)
        inFlight_[b]->wait();
        buffers_[b].mul_(scale);
        for (size_t i : buckets_[b]) {
            auto g = params_[i].mutable_grad();
            g.copy_(buffers_[b].narrow(0, offsetOf_[i], g.numel()).view_as(g));
        }
    }
    // Ready for the next step.
    lastStartedEarly_ = startedEarly_;
    startedEarly_ = 0;
    inFlight_.clear();
    std::fill(packed_.begin(), packed_.end(), 0);
    for (size_t b = 0; b < buckets_.size(); ++b) missing_[b] = buckets_[b].size();
}

} // namespace srigl
