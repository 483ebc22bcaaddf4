// JSON renderings of the trainer's events for `srigl train --json` (one object per line).
#pragma once

#include "engine/training/training_observer.hpp"

#include <nlohmann/json.hpp>

namespace srigl::cli {

nlohmann::json layerJson(const LayerUpdateStats& layer);
nlohmann::json stepJson(const StepMetrics& m);
nlohmann::json evalJson(const EvalMetrics& m);
nlohmann::json maskUpdateJson(const MaskUpdateEvent& e);
nlohmann::json denseReferenceJson(const DenseReference& r);
nlohmann::json summaryJson(const TrainingSummary& s);

} // namespace srigl::cli
