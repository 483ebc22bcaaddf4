// Curve sampling and ETA of a live session.
#include "widgets/common/session_history.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace srigl::studio {

bool SessionHistory::add(const sessions::SessionSnapshot& s) {
    bool added = false;
    if (s.lastStep && s.lastStep->step > lastTrainStep_) {
        // Reports come every logEvery steps (and at the last step): a longer jump means a miss.
        if (s.lastStep->step - std::max<int64_t>(lastTrainStep_, 0) > logEvery_) gaps_ = true;
        lastTrainStep_ = s.lastStep->step;
        const double x = static_cast<double>(s.lastStep->step);
        trainLoss_.push_back({x, s.lastStep->loss});
        trainAccuracy_.push_back({x, s.lastStep->accuracy});
        added = true;
    }
    if (s.lastEval && s.lastEval->step > lastEvalStep_) {
        lastEvalStep_ = s.lastEval->step;
        const double x = static_cast<double>(s.lastEval->step);
        testLoss_.push_back({x, s.lastEval->testLoss});
        testAccuracy_.push_back({x, s.lastEval->testAccuracy});
        added = true;
    }
    return added;
}

namespace {

// recorded, then the points of sampled after recorded's last step.
std::vector<CurvePoint> merged(std::vector<CurvePoint> recorded, const std::vector<CurvePoint>& sampled) {
    const double last = recorded.empty() ? -1.0 : recorded.back().step;
    for (const auto& p : sampled)
        if (p.step > last) recorded.push_back(p);
    return recorded;
}

} // namespace

void SessionHistory::mergeRecorded(std::vector<CurvePoint> trainLoss, std::vector<CurvePoint> trainAccuracy,
                                   std::vector<CurvePoint> testLoss, std::vector<CurvePoint> testAccuracy) {
    trainLoss_ = merged(std::move(trainLoss), trainLoss_);
    trainAccuracy_ = merged(std::move(trainAccuracy), trainAccuracy_);
    testLoss_ = merged(std::move(testLoss), testLoss_);
    testAccuracy_ = merged(std::move(testAccuracy), testAccuracy_);
    gaps_ = false;
    double previous = 0.0;
    for (const auto& p : trainLoss_) {
        if (p.step - previous > static_cast<double>(logEvery_)) gaps_ = true;
        previous = p.step;
    }
    if (!trainLoss_.empty()) lastTrainStep_ = std::max(lastTrainStep_, static_cast<int64_t>(trainLoss_.back().step));
    if (!testLoss_.empty()) lastEvalStep_ = std::max(lastEvalStep_, static_cast<int64_t>(testLoss_.back().step));
}

double etaSeconds(const sessions::SessionSnapshot& s) {
    if (!s.lastStep || s.lastStep->step <= 0 || s.totalSteps <= 0) return -1.0;
    // elapsedSeconds counts time inside training steps only, so a pause does not inflate the ETA.
    const double perStep = s.lastStep->elapsedSeconds / static_cast<double>(s.lastStep->step);
    const int64_t left = s.totalSteps - std::max(s.step, s.lastStep->step);
    return left <= 0 ? 0.0 : perStep * static_cast<double>(left);
}

std::string formatDuration(double seconds) {
    if (seconds < 0 || !std::isfinite(seconds)) return "–";
    const auto total = static_cast<long long>(std::llround(seconds));
    char text[32];
    if (total >= 3600)
        std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, (total / 60) % 60, total % 60);
    else
        std::snprintf(text, sizeof text, "%lld:%02lld", total / 60, total % 60);
    return text;
}

} // namespace srigl::studio
