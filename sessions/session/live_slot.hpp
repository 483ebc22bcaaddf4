// The session's latest-value slot: an observer in the trainer's chain that, on the training thread,
// publishes the masks and weights of every layer (LiveLayers) at the start of a run and at every
// mask update (N:M methods: every nm_update_every steps, when they report), and passes every event
// on. Readers take the latest publication at any time without waiting on training; a listener is
// told at once (the Studio wakes its UI thread with it instead of polling).
#pragma once

#include "sessions/session/live_layers.hpp"

#include <functional>
#include <memory>
#include <mutex>

namespace srigl::sessions {

class LiveSlot : public TrainingObserver {
public:
    using MaskSource = std::function<std::vector<LayerMaskSnapshot>()>;
    using WeightSource = std::function<std::vector<LayerWeightSnapshot>()>;
    using StepSource = std::function<int64_t()>;
    // The sources read the trainer (Trainer::maskSnapshot, weightSnapshots, step); they are called
    // only from the observer callbacks, on the training thread. weights may be empty (masks only).
    LiveSlot(MaskSource masks, WeightSource weights, StepSource step, TrainingObserver* next = nullptr);

    void setNext(TrainingObserver* next) { next_ = next; }
    void setRunId(int64_t runId) { runId_ = runId; }
    // Called on the training thread right after each publication; must not block.
    void setListener(std::function<void(const std::shared_ptr<const LiveLayers>&)> listener);

    // The latest publication (null before the run started). Any thread.
    std::shared_ptr<const LiveLayers> latest() const;
    // The masks/weights of the latest publication when it was made at `step`, else null: lets the
    // recorder store what was just published instead of copying the trainer's state again.
    std::shared_ptr<const LiveLayers> publishedAt(int64_t step) const;

    void onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) override;
    void onStep(const StepMetrics& m) override;
    void onDenseReference(const DenseReference& r) override;
    void onMaskUpdate(const MaskUpdateEvent& e) override;
    void onEvaluation(const EvalMetrics& m) override;
    void onBeforeCheckpoint(int64_t step) override;
    void onCheckpoint(int64_t step, const std::string& path) override;
    void onFinished(const TrainingSummary& s) override;

private:
    // Publishes (and returns) the layers at `step`, with the gradients given.
    std::shared_ptr<const LiveLayers> publish(int64_t step, bool maskUpdate, std::vector<LayerWeightSnapshot> gradients);

    MaskSource masks_;
    WeightSource weights_;
    StepSource step_;
    TrainingObserver* next_;
    int64_t runId_ = 0;
    std::vector<LayerUpdateStats> stats_; // training thread only
    mutable std::mutex mutex_;
    std::shared_ptr<const LiveLayers> latest_;
    std::function<void(const std::shared_ptr<const LiveLayers>&)> listener_;
};

} // namespace srigl::sessions
