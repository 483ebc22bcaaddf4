// `srigl runs render`: a layer's mask or weight heatmap as a picture, or its evolution as a video.
// In srigl-engine only: drawing needs OpenCV, which the light front end does not load.
#pragma once

#include "runs_command.hpp"

namespace srigl::cli {

int renderRun(sessions::RunStore& store, const RunsOptions& options);

} // namespace srigl::cli
