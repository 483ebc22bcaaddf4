// Publishing the live masks and weights on the training thread.
#include "sessions/session/live_slot.hpp"

namespace srigl::sessions {
namespace {

template <class T>
const T* byName(const std::vector<T>& items, const std::string& name) {
    for (const auto& item : items)
        if (item.name == name) return &item;
    return nullptr;
}

} // namespace

const LayerMaskSnapshot* LiveLayers::mask(const std::string& layer) const {
    return masks ? byName(*masks, layer) : nullptr;
}
const LayerMaskSnapshot* LiveLayers::previousMask(const std::string& layer) const {
    return previousMasks ? byName(*previousMasks, layer) : nullptr;
}
const LayerWeightSnapshot* LiveLayers::weight(const std::string& layer) const {
    return byName(weights, layer);
}
const LayerWeightSnapshot* LiveLayers::gradient(const std::string& layer) const {
    return byName(gradients, layer);
}
const LayerUpdateStats* LiveLayers::layerStats(const std::string& layer) const {
    return byName(stats, layer);
}

LiveSlot::LiveSlot(MaskSource masks, WeightSource weights, StepSource step, TrainingObserver* next)
    : masks_(std::move(masks)), weights_(std::move(weights)), step_(std::move(step)), next_(next) {}

void LiveSlot::setListener(std::function<void(const std::shared_ptr<const LiveLayers>&)> listener) {
    std::lock_guard<std::mutex> lock(mutex_);
    listener_ = std::move(listener);
}

std::shared_ptr<const LiveLayers> LiveSlot::latest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return latest_;
}

std::shared_ptr<const LiveLayers> LiveSlot::publishedAt(int64_t step) const {
    auto l = latest();
    return l && l->step == step ? l : nullptr;
}

std::shared_ptr<const LiveLayers> LiveSlot::publish(int64_t step, bool maskUpdate,
                                                    std::vector<LayerWeightSnapshot> gradients) {
    auto next = std::make_shared<LiveLayers>();
    const auto previous = latest();
    next->runId = runId_;
    next->step = step;
    next->sequence = previous ? previous->sequence + 1 : 1;
    next->maskUpdate = maskUpdate;
    next->stats = stats_;
    next->masks = std::make_shared<const std::vector<LayerMaskSnapshot>>(masks_());
    if (previous) next->previousMasks = previous->masks;
    if (weights_) next->weights = weights_();
    next->gradients = std::move(gradients);
    next->publishedAt = std::chrono::steady_clock::now();
    std::shared_ptr<const LiveLayers> published = std::move(next);
    std::function<void(const std::shared_ptr<const LiveLayers>&)> listener;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        latest_ = published;
        listener = listener_;
    }
    if (listener) listener(published);
    return published;
}

void LiveSlot::onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) {
    stats_ = layers;
    publish(step_(), false, {});
    if (next_) next_->onStart(layers, totalSteps);
}

void LiveSlot::onStep(const StepMetrics& m) {
    if (next_) next_->onStep(m);
}

void LiveSlot::onDenseReference(const DenseReference& r) {
    if (next_) next_->onDenseReference(r);
}

void LiveSlot::onMaskUpdate(const MaskUpdateEvent& e) {
    for (const auto& l : e.layers)
        for (auto& mine : stats_)
            if (mine.name == l.name) mine = l;
    // The gradients are copied from the trainer once, here, into the publication, and handed on
    // from there so that the recorder stores the same values instead of asking the trainer again.
    const auto published = publish(e.step, true, e.gradients ? e.gradients() : std::vector<LayerWeightSnapshot>{});
    if (!next_) return;
    MaskUpdateEvent passed = e;
    if (e.gradients) passed.gradients = [published] { return published->gradients; };
    next_->onMaskUpdate(passed);
}

void LiveSlot::onEvaluation(const EvalMetrics& m) {
    if (next_) next_->onEvaluation(m);
}

void LiveSlot::onBeforeCheckpoint(int64_t step) {
    if (next_) next_->onBeforeCheckpoint(step);
}

void LiveSlot::onCheckpoint(int64_t step, const std::string& path) {
    if (next_) next_->onCheckpoint(step, path);
}

void LiveSlot::onFinished(const TrainingSummary& s) {
    if (next_) next_->onFinished(s);
}

} // namespace srigl::sessions
