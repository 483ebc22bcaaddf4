// What the init-variance panel draws from a finished analysis: one line per mask structure
// (dense, unstructured, constant fan-in, N:M) over the sparsities, in the chosen measure of the
// output norms' spread, and the rows of its table.
#pragma once

#include "sessions/session/init_variance_job.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QString>
#include <QStringList>

#include <vector>

namespace srigl::studio {

enum class InitSpread { Variance, Std, RelativeStd };

QString spreadName(InitSpread spread); // also the chart's y axis title
// Variance of ||y||, its square root, or that divided by the mean (0 when the mean is 0).
double spreadOf(const sessions::InitNormStats& stats, InitSpread spread);

// The structures in chart and table order, with their series names.
constexpr int kInitStructures = 4;
QString structureName(int structure);
const sessions::InitNormStats& structureStats(const sessions::InitVariancePoint& point, int structure);

// kInitStructures series, each with one point per sparsity (x = sparsity), in the points' order.
std::vector<XySeries> initVarianceSeries(const std::vector<sessions::InitVariancePoint>& points, InitSpread spread);

// The table: a row per sparsity and structure (sparsity, mask, density, mean, variance, std, std / mean).
QStringList initVarianceColumns();
std::vector<QStringList> initVarianceRows(const std::vector<sessions::InitVariancePoint>& points);

} // namespace srigl::studio
