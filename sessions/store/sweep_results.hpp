// What a sweep found, as a researcher plots it: the test accuracy of its finished points grouped
// into one series per value of one axis (e.g. method) against another axis (e.g. sparsity), with
// the mean, the sample standard deviation and the count over every other axis (e.g. seeds).
// Plain data, shared by the Studio's sweep results view and its CSV export.
#pragma once

#include "sessions/store/sweep_store.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace srigl::sessions {

struct SweepResultPoint {
    std::string x;       // the x axis value as the grid wrote it ("0.9")
    double xValue = 0.0; // as a number (the x axis is numeric) or its position in the grid (not)
    double mean = 0.0;
    double std = 0.0;    // sample standard deviation (0 for a single value)
    int count = 0;       // finished points averaged
    std::vector<double> values;
    std::vector<int64_t> runIds;
};

struct SweepSeries {
    std::string label; // the series axis value ("srigl"), or "all" without a series axis
    std::vector<SweepResultPoint> points; // by ascending xValue
};

struct SweepResults {
    std::string xKey, seriesKey;
    std::vector<std::string> averagedKeys; // the other axes (seeds), averaged over
    bool numericX = true;
    std::vector<SweepSeries> series; // in the grid's order of the series axis
    int64_t finished = 0, notFinished = 0; // points with and without a test accuracy
};

// The assignment label of a point ("method=srigl sparsity=0.9 seed=1") split by the grid's keys
// (in grid order), so that values containing spaces or '=' stay whole.
std::vector<std::pair<std::string, std::string>> parseAssignment(const std::string& label,
                                                                 const std::vector<std::string>& keys);

// keys: the grid's axis keys in order; accuracy: each run's test accuracy (a missing run or a
// negative value counts as not finished). An empty xKey or seriesKey picks "sparsity" and
// "method" when the grid has them, else the first and second axis; seriesKey may equal "" when the
// grid has a single axis.
SweepResults summarizeSweep(const std::vector<std::string>& keys, const std::vector<SweepPointRow>& rows,
                            const std::map<int64_t, double>& accuracy, std::string xKey = "",
                            std::string seriesKey = "");

// One row per series and x: series,x,mean,std,count,values (';'-separated), run ids.
std::string sweepResultsCsv(const SweepResults& results);

} // namespace srigl::sessions
