// Weight heatmaps: a layer's [out, fan_in] weights through an OpenCV colour map (symmetric around
// zero by default, entries outside the mask in a background colour), as PNG files or a video of
// the weights over all recorded snapshots. Shared by `srigl runs render --what weights` and the Studio.
#pragma once

#include "engine/training/training_observer.hpp"
#include "sessions/render/mask_renderer.hpp"

#include <string>
#include <vector>

namespace srigl::sessions {

struct WeightRenderOptions {
    std::string colormap = "twilight_shifted"; // dark ends, light middle: sign and size at a glance
    // The value range mapped onto the colour map. low == high (the default): symmetric around 0 up
    // to the largest |weight| shown (of all frames in a video, so colours mean the same throughout).
    double low = 0.0, high = 0.0;
    uint8_t inactive[3] = {40, 40, 40}; // RGB of entries outside the mask
    int minSide = 512, maxSide = 2048;
};

// OpenCV's colour map names (autumn, bone, jet, ..., turbo), lower case.
std::vector<std::string> colormapNames();
// Throws StoreError listing the names when `name` is not one of them.
int colormapId(const std::string& name);

// mask may be null (every entry drawn). Throws StoreError on a bad colour map or shape.
RgbImage renderWeights(const LayerWeightSnapshot& weights, const LayerMaskSnapshot* mask,
                       const WeightRenderOptions& options = {});
// One frame per snapshot; masks empty or one per frame. .mp4 (mp4v) or .avi (MJPG), written all or
// nothing (VideoFile).
void writeWeightVideo(const std::string& path, const std::vector<LayerWeightSnapshot>& frames,
                      const std::vector<LayerMaskSnapshot>& masks, const WeightRenderOptions& options = {},
                      double fps = 4.0);

} // namespace srigl::sessions
