// What the compare dashboard's degree histograms need to put several runs side by side: the layers
// the runs share, the mask step each run is shown at, and histograms binned on one range with one
// count scale, so that equal bars mean equal things in every run's chart.
#pragma once

#include "widgets/logic/degree_histograms.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl::studio {

// The layers every run has, in the first run's order. Runs listed with no layer (nothing recorded
// yet) are skipped rather than emptying the answer.
std::vector<std::string> commonLayers(const std::vector<std::vector<std::string>>& layersPerRun);

// The mask step to show at `fraction` of training: fraction >= 1 is the last recorded mask step,
// otherwise the latest mask step at or before fraction * trainingSteps (the first one when none
// is that early). trainingSteps below the last mask step (a run still training) counts as that
// step. maskSteps ascending; -1 when there is none.
int64_t maskStepAt(const std::vector<int64_t>& maskSteps, int64_t trainingSteps, double fraction);

// One histogram per run over the same bins (lo, width and bin count as integerHistogram would
// choose for the union of the values), so runs compare bar for bar; highestCount is the tallest
// bar of all, the shared count axis.
struct SharedHistograms {
    std::vector<IntHistogram> histograms;
    int64_t highestCount = 0;
};
SharedHistograms sharedHistograms(const std::vector<std::vector<int64_t>>& valuesPerRun,
                                  int maxBins = kDegreeHistogramBins);

// Bins with a count above zero: 1 for a constant fan-in layer without ablated neurons.
int occupiedBins(const IntHistogram& histogram);

} // namespace srigl::studio
