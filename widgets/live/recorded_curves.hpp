// A run's recorded loss/accuracy series, read through the Studio's StoreReader, so the UI thread
// never waits on SQLite (a fresh database or a busy writer can hold a read for seconds).
#pragma once

#include "widgets/common/session_history.hpp"

#include <QObject>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace srigl::sessions {
class RunStore;
}

namespace srigl::studio {

class StoreReader;

struct RecordedCurves {
    int64_t runId = 0;
    std::vector<CurvePoint> trainLoss, trainAccuracy, testLoss, testAccuracy;
};

// Reads the series of one run; throws StoreError.
RecordedCurves readRecordedCurves(sessions::RunStore& store, int64_t runId);

// One read at a time, polled: start() it, then take() its result once it is back.
class RecordedCurvesReader {
public:
    explicit RecordedCurvesReader(StoreReader& store);
    RecordedCurvesReader(const RecordedCurvesReader&) = delete;
    RecordedCurvesReader& operator=(const RecordedCurvesReader&) = delete;

    bool busy() const;
    // Starts a read unless one is running; false when busy. A database other than the reader's
    // fails at once (nothing to merge).
    bool start(const std::string& dbPath, int64_t runId);
    // The finished read's result (nullopt while running, when none ran, or when it failed).
    std::optional<RecordedCurves> take();

private:
    StoreReader& store_;
    QObject context_; // a result that comes back after the reader is gone is dropped with it
    quint64 request_ = 0;
    std::optional<RecordedCurves> result_;
};

} // namespace srigl::studio
