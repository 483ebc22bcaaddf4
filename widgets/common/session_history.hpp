// The curves of a live session. Polling the snapshot samples the reports (the snapshot holds only
// the latest); the reports missed between two polls are merged in from the store. Also the ETA.
#pragma once

#include "sessions/session/session.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl::studio {

struct CurvePoint {
    double step = 0.0;
    double value = 0.0;
};

class SessionHistory {
public:
    // logEvery: the run's reporting interval, to tell a missed report from the next one.
    explicit SessionHistory(int64_t logEvery = 1) : logEvery_(logEvery < 1 ? 1 : logEvery) {}

    // Returns true when a point was added (the curves need a repaint).
    bool add(const sessions::SessionSnapshot& snapshot);
    // True when polling missed a training report (two points further apart than logEvery).
    bool hasGaps() const { return gaps_; }
    // Takes the recorded series (complete up to their last step) and keeps the sampled points
    // after it.
    void mergeRecorded(std::vector<CurvePoint> trainLoss, std::vector<CurvePoint> trainAccuracy,
                       std::vector<CurvePoint> testLoss, std::vector<CurvePoint> testAccuracy);

    const std::vector<CurvePoint>& trainLoss() const { return trainLoss_; }
    const std::vector<CurvePoint>& trainAccuracy() const { return trainAccuracy_; }
    const std::vector<CurvePoint>& testLoss() const { return testLoss_; }
    const std::vector<CurvePoint>& testAccuracy() const { return testAccuracy_; }

private:
    std::vector<CurvePoint> trainLoss_, trainAccuracy_, testLoss_, testAccuracy_;
    int64_t logEvery_ = 1;
    int64_t lastTrainStep_ = -1;
    int64_t lastEvalStep_ = -1;
    bool gaps_ = false;
};

// Seconds left, from the time spent training so far (pauses excluded); -1 when unknown.
double etaSeconds(const sessions::SessionSnapshot& snapshot);
// "1:05", "12:34", "1:02:03"; "–" for unknown.
std::string formatDuration(double seconds);

} // namespace srigl::studio
