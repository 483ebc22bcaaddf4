// Tells the person at the terminal when recording waits for the database (another process holds
// its lock, the disk is full) and when it has caught up, while training goes on. The recorder's
// thread only leaves a note; it is printed on the training thread between the trainer's own
// events, so it never cuts a progress bar or a JSON line in two.
#pragma once

#include "engine/training/training_observer.hpp"
#include "sessions/store/recorder.hpp"

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace srigl::cli {

class RecordingNotices : public TrainingObserver {
public:
    // Passes every event on to `next`; json: notes are {"event": "recording", ...} lines on
    // stdout, else lines on stderr starting with prefix.
    RecordingNotices(TrainingObserver& next, bool json, std::string prefix);

    // Thread-safe: the recorder's health listener.
    void note(const sessions::RecordingHealth& health);

    void onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) override;
    void onStep(const StepMetrics& metrics) override;
    void onDenseReference(const DenseReference& reference) override;
    void onMaskUpdate(const MaskUpdateEvent& event) override;
    void onEvaluation(const EvalMetrics& metrics) override;
    void onBeforeCheckpoint(int64_t step) override;
    void onCheckpoint(int64_t step, const std::string& path) override;
    void onFinished(const TrainingSummary& summary) override;

    // Prints a note left since the last event (after training, when the recorder closes).
    void show();

private:
    TrainingObserver& next_;
    bool json_;
    std::string prefix_;
    std::mutex mutex_;
    std::vector<sessions::RecordingHealth> pending_;
};

} // namespace srigl::cli
