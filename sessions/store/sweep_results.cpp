// Grouping a sweep's points into series with mean and spread.
#include "sessions/store/sweep_results.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace srigl::sessions {
namespace {

bool parseNumber(const std::string& text, double& value) {
    if (text.empty()) return false;
    char* end = nullptr;
    value = std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size() && std::isfinite(value);
}

std::string valueOf(const std::vector<std::pair<std::string, std::string>>& assignment, const std::string& key) {
    for (const auto& [k, v] : assignment)
        if (k == key) return v;
    return "";
}

std::string csvField(const std::string& text) {
    if (text.find_first_of(",\"\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

} // namespace

std::vector<std::pair<std::string, std::string>> parseAssignment(const std::string& label,
                                                                 const std::vector<std::string>& keys) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t at = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::string prefix = keys[i] + "=";
        if (label.compare(at, prefix.size(), prefix) != 0) return {}; // not this grid's label
        const size_t start = at + prefix.size();
        size_t end = label.size();
        if (i + 1 < keys.size()) {
            end = label.find(" " + keys[i + 1] + "=", start);
            if (end == std::string::npos) return {};
        }
        out.emplace_back(keys[i], label.substr(start, end - start));
        at = end + 1;
    }
    return out;
}

SweepResults summarizeSweep(const std::vector<std::string>& keys, const std::vector<SweepPointRow>& rows,
                            const std::map<int64_t, double>& accuracy, std::string xKey, std::string seriesKey) {
    auto has = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
    if (xKey.empty()) xKey = has("sparsity") ? "sparsity" : keys.empty() ? "" : keys.front();
    if (seriesKey.empty() && keys.size() > 1) {
        if (has("method") && xKey != "method") seriesKey = "method";
        else
            for (const auto& k : keys)
                if (k != xKey) {
                    seriesKey = k;
                    break;
                }
    }
    SweepResults r;
    r.xKey = xKey;
    r.seriesKey = seriesKey;
    for (const auto& k : keys)
        if (k != xKey && k != seriesKey) r.averagedKeys.push_back(k);

    // Grid order of the values of x and of the series axis (first appearance).
    std::vector<std::string> xOrder, seriesOrder;
    struct Cell {
        std::vector<double> values;
        std::vector<int64_t> runIds;
    };
    std::map<std::pair<std::string, std::string>, Cell> cells;
    for (const auto& row : rows) {
        const auto assignment = parseAssignment(row.assignment, keys);
        if (assignment.empty() && !keys.empty()) continue;
        const std::string x = valueOf(assignment, xKey);
        const std::string s = seriesKey.empty() ? "all" : valueOf(assignment, seriesKey);
        if (std::find(xOrder.begin(), xOrder.end(), x) == xOrder.end()) xOrder.push_back(x);
        if (std::find(seriesOrder.begin(), seriesOrder.end(), s) == seriesOrder.end()) seriesOrder.push_back(s);
        const auto acc = accuracy.find(row.runId);
        if (row.status != PointStatus::Finished || row.runId == 0 || acc == accuracy.end() || acc->second < 0) {
            ++r.notFinished;
            continue;
        }
        ++r.finished;
        auto& cell = cells[{s, x}];
        cell.values.push_back(acc->second);
        cell.runIds.push_back(row.runId);
    }
    for (const auto& x : xOrder) {
        double v = 0.0;
        if (!parseNumber(x, v)) r.numericX = false;
    }
    for (const auto& s : seriesOrder) {
        SweepSeries series;
        series.label = s;
        for (size_t i = 0; i < xOrder.size(); ++i) {
            const auto it = cells.find({s, xOrder[i]});
            if (it == cells.end()) continue;
            SweepResultPoint p;
            p.x = xOrder[i];
            if (!r.numericX || !parseNumber(p.x, p.xValue)) p.xValue = static_cast<double>(i);
            p.values = it->second.values;
            p.runIds = it->second.runIds;
            p.count = static_cast<int>(p.values.size());
            for (double v : p.values) p.mean += v;
            p.mean /= p.count;
            if (p.count > 1) {
                double ss = 0.0;
                for (double v : p.values) ss += (v - p.mean) * (v - p.mean);
                p.std = std::sqrt(ss / (p.count - 1));
            }
            series.points.push_back(std::move(p));
        }
        std::sort(series.points.begin(), series.points.end(),
                  [](const SweepResultPoint& a, const SweepResultPoint& b) { return a.xValue < b.xValue; });
        r.series.push_back(std::move(series));
    }
    return r;
}

std::string sweepResultsCsv(const SweepResults& results) {
    std::ostringstream out;
    out << csvField(results.seriesKey.empty() ? "series" : results.seriesKey) << ','
        << csvField(results.xKey.empty() ? "x" : results.xKey) << ",mean_test_accuracy,std,count,values,run_ids\n";
    char number[32];
    for (const auto& s : results.series)
        for (const auto& p : s.points) {
            std::string values, runs;
            for (size_t i = 0; i < p.values.size(); ++i) {
                std::snprintf(number, sizeof number, "%.6g", p.values[i]);
                values += (i ? ";" : "") + std::string(number);
                runs += (i ? ";" : "") + std::to_string(p.runIds[i]);
            }
            out << csvField(s.label) << ',' << csvField(p.x) << ',';
            std::snprintf(number, sizeof number, "%.6f", p.mean);
            out << number << ',';
            std::snprintf(number, sizeof number, "%.6f", p.std);
            out << number << ',' << p.count << ',' << values << ',' << runs << '\n';
        }
    return out.str();
}

} // namespace srigl::sessions
