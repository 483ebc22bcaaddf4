// What `srigl train` shows while it trains: a progress bar on a terminal, one JSON object per
// event with --json, a line per evaluation otherwise. Also used for each run of `srigl sweep --json`.
#pragma once

#include "progress_bar.hpp"

#include "engine/training/training_observer.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace srigl::cli {

class ConsoleObserver : public TrainingObserver {
public:
    ConsoleObserver(bool json, bool quiet);

    void onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) override;
    void onStep(const StepMetrics& m) override;
    void onDenseReference(const DenseReference& reference) override;
    void onMaskUpdate(const MaskUpdateEvent& e) override;
    void onEvaluation(const EvalMetrics& m) override;
    void onCheckpoint(int64_t step, const std::string& path) override;
    void onFinished(const TrainingSummary&) override;

private:
    std::string suffix() const;
    void emit(const nlohmann::json& j);

    bool json_, quiet_, tty_;
    int64_t total_ = 0;
    std::unique_ptr<ProgressBar> bar_;
    StepMetrics lastStep_;
    EvalMetrics lastEval_;
    bool haveEval_ = false;
};

} // namespace srigl::cli
