// Reads a run's recorded loss/accuracy series from the store on a background thread, so the UI
// thread never waits on SQLite (a fresh database or a busy writer can hold a read for seconds).
#pragma once

#include "widgets/common/session_history.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace srigl::studio {

struct RecordedCurves {
    int64_t runId = 0;
    std::vector<CurvePoint> trainLoss, trainAccuracy, testLoss, testAccuracy;
};

// Reads the series of one run (opens the database read-only); throws StoreError.
RecordedCurves readRecordedCurves(const std::string& dbPath, int64_t runId);

class RecordedCurvesReader {
public:
    RecordedCurvesReader() = default;
    ~RecordedCurvesReader(); // joins a read still running (only at exit)
    RecordedCurvesReader(const RecordedCurvesReader&) = delete;
    RecordedCurvesReader& operator=(const RecordedCurvesReader&) = delete;

    bool busy() const;
    // Starts a read unless one is running; false when busy.
    bool start(const std::string& dbPath, int64_t runId);
    // The finished read's result (nullopt while running, when none ran, or when it failed).
    std::optional<RecordedCurves> take();

private:
    struct Job {
        std::atomic<bool> done{false};
        std::optional<RecordedCurves> result;
    };
    std::shared_ptr<Job> job_;
    std::thread thread_;
};

} // namespace srigl::studio
