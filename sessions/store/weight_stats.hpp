// Statistics of a layer's active weights (mean, std, min, max, a fixed-bin histogram): what the
// store keeps at every mask snapshot and the Studio plots as weight distributions over time.
#pragma once

#include "engine/training/training_observer.hpp"

#include <string>
#include <vector>

namespace srigl::sessions {

// Over `active` (e.g. activeWeights()); NaN values are left out of every number. An empty input
// gives count 0, zeros and an all-zero histogram.
LayerWeightStats computeWeightStats(const std::string& layer, const std::vector<float>& active,
                                    int bins = kWeightHistogramBins);

} // namespace srigl::sessions
