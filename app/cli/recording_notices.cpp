// Notes from the recorder's thread, printed between the trainer's events.
#include "recording_notices.hpp"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <utility>

namespace srigl::cli {

RecordingNotices::RecordingNotices(TrainingObserver& next, bool json, std::string prefix)
    : next_(next), json_(json), prefix_(std::move(prefix)) {}

void RecordingNotices::note(const sessions::RecordingHealth& health) {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(health);
}

void RecordingNotices::show() {
    std::vector<sessions::RecordingHealth> notes;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        notes.swap(pending_);
    }
    for (const auto& h : notes) {
        if (json_) {
            const nlohmann::json j{{"event", "recording"},       {"waiting", h.waiting},
                                   {"error", h.error},             {"held_records", h.heldRecords},
                                   {"dropped_records", h.droppedRecords}};
            const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fflush(stdout);
        } else {
            // On a terminal a progress bar may be drawn on this line: end it first.
            std::fprintf(stderr, "%s%s: %s\n", isatty(STDERR_FILENO) ? "\n" : "", prefix_.c_str(),
                         sessions::describeRecordingHealth(h).c_str());
        }
    }
}

void RecordingNotices::onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) {
    next_.onStart(layers, totalSteps);
    show();
}
void RecordingNotices::onStep(const StepMetrics& metrics) {
    next_.onStep(metrics);
    show();
}
void RecordingNotices::onDenseReference(const DenseReference& reference) { next_.onDenseReference(reference); }
void RecordingNotices::onMaskUpdate(const MaskUpdateEvent& event) {
    next_.onMaskUpdate(event);
    show();
}
void RecordingNotices::onEvaluation(const EvalMetrics& metrics) {
    next_.onEvaluation(metrics);
    show();
}
void RecordingNotices::onBeforeCheckpoint(int64_t step) { next_.onBeforeCheckpoint(step); }
void RecordingNotices::onCheckpoint(int64_t step, const std::string& path) {
    next_.onCheckpoint(step, path);
    show();
}
void RecordingNotices::onFinished(const TrainingSummary& summary) {
    next_.onFinished(summary);
    show();
}

} // namespace srigl::cli
