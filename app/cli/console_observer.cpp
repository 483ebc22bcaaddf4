// Progress bar, JSON lines or plain lines for the trainer's events.
#include "console_observer.hpp"

#include "json_events.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace srigl::cli {

ConsoleObserver::ConsoleObserver(bool json, bool quiet) : json_(json), quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0) {}

void ConsoleObserver::onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) {
    total_ = totalSteps;
    if (json_) {
        nlohmann::json ls = nlohmann::json::array();
        for (const auto& l : layers) ls.push_back(layerJson(l));
        emit({{"event", "start"}, {"total_steps", totalSteps}, {"layers", ls}});
    } else if (tty_ && !quiet_) {
        bar_ = std::make_unique<ProgressBar>(totalSteps);
    }
}

void ConsoleObserver::onStep(const StepMetrics& m) {
    lastStep_ = m;
    if (json_) emit(stepJson(m));
    else if (bar_) bar_->update(m.step, suffix(), m.step == total_);
}

void ConsoleObserver::onDenseReference(const DenseReference& r) {
    if (!json_) return; // the summary says it
    auto j = denseReferenceJson(r);
    j["event"] = "dense_reference";
    emit(j);
}

void ConsoleObserver::onMaskUpdate(const MaskUpdateEvent& e) {
    if (json_) emit(maskUpdateJson(e));
}

void ConsoleObserver::onEvaluation(const EvalMetrics& m) {
    lastEval_ = m;
    haveEval_ = true;
    if (json_) emit(evalJson(m));
    else if (bar_) bar_->update(lastStep_.step, suffix(), true);
    else if (!quiet_)
        std::fprintf(stderr, "epoch %lld step %lld/%lld: train loss %.4f, test accuracy %.2f%%\n",
                     static_cast<long long>(m.epoch + 1), static_cast<long long>(m.step),
                     static_cast<long long>(total_), lastStep_.loss, 100.0 * m.testAccuracy);
}

void ConsoleObserver::onCheckpoint(int64_t step, const std::string& path) {
    if (json_) emit({{"event", "checkpoint"}, {"step", step}, {"path", path}});
}

void ConsoleObserver::onFinished(const TrainingSummary&) {
    if (bar_) bar_->finish();
}

std::string ConsoleObserver::suffix() const {
    char buf[128];
    if (haveEval_)
        std::snprintf(buf, sizeof buf, "loss %.4f acc %.1f%% test %.2f%%", lastStep_.loss, 100.0 * lastStep_.accuracy,
                      100.0 * lastEval_.testAccuracy);
    else std::snprintf(buf, sizeof buf, "loss %.4f acc %.1f%%", lastStep_.loss, 100.0 * lastStep_.accuracy);
    return buf;
}

void ConsoleObserver::emit(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

} // namespace srigl::cli
