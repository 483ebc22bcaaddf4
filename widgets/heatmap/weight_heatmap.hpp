// A layer's weight heatmap image from the store's values (active weights in mask order): the
// colour map, a symmetric or min..max range, and an optional log scale, through the same OpenCV
// renderer as `srigl runs render --what weights` (sessions/weight_renderer). No Qt, no GL.
#pragma once

#include "engine/training/training_observer.hpp"
#include "sessions/render/mask_renderer.hpp"

#include <string>
#include <vector>

namespace srigl::studio {

struct HeatmapOptions {
    std::string colormap = "twilight_shifted";
    bool symmetric = true; // [-max|w|, max|w|], so zero is always the map's middle; else [min, max]
    // sign(w) * log10(1 + |w| / (1e-3 * max|w|)): three decades of magnitude, sign kept.
    bool logScale = false;
};

struct HeatmapImage {
    sessions::RgbImage image;
    double low = 0.0, high = 0.0; // the range mapped onto the colour map (after the log transform)
};

// The value shown for w (identity without the log scale); maxAbs is the layer's largest |w|.
double heatmapValue(double w, double maxAbs, bool logScale);

// Throws StoreError on a bad colour map or when `active` does not match the mask's active count.
HeatmapImage renderHeatmap(const LayerMaskSnapshot& mask, const std::vector<float>& active, const HeatmapOptions& options);

} // namespace srigl::studio
