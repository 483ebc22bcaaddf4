// Bucketed gradient averaging (flatten, all-reduce, unflatten).
#include "engine/distributed/gradient_buckets.hpp"

#include <stdexcept>

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
    : params_(std::move(params)) {
    std::vector<int64_t> numels;
    for (const auto& p : params_) numels.push_back(p.numel());
    buckets_ = planBuckets(numels, capElements);
    for (const auto& b : buckets_) {
        int64_t n = 0;
        for (size_t i : b) n += params_[i].numel();
        buffers_.push_back(torch::empty({n}, params_[b.front()].options()));
    }
}

void GradientAverager::average(ProcessGroup& group) {
    torch::NoGradGuard noGrad;
    std::vector<std::unique_ptr<PendingCollective>> inFlight;
    for (size_t b = 0; b < buckets_.size(); ++b) {
        int64_t offset = 0;
        for (size_t i : buckets_[b]) {
            const auto& g = params_[i].grad();
            if (!g.defined())
                throw std::logic_error("GradientAverager: parameter " + std::to_string(i) + " has no gradient");
            buffers_[b].narrow(0, offset, g.numel()).copy_(g.reshape({-1}));
            offset += g.numel();
        }
        inFlight.push_back(group.allreduceAsync(buffers_[b], ReduceKind::Sum, "all-reduce of gradient bucket " +
                                                                          std::to_string(b)));
    }
    const double scale = 1.0 / static_cast<double>(group.size());
    for (size_t b = 0; b < buckets_.size(); ++b) {
        inFlight[b]->wait();
        buffers_[b].mul_(scale);
        int64_t offset = 0;
        for (size_t i : buckets_[b]) {
            auto g = params_[i].mutable_grad();
            g.copy_(buffers_[b].narrow(0, offset, g.numel()).view_as(g));
            offset += g.numel();
        }
    }
}

} // namespace srigl
