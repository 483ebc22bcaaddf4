// Recorded metrics for the live curves and the compare dashboard.
#include "widgets/live/recorded_curves.hpp"

#include "sessions/store/run_store.hpp"
#include "widgets/common/store_reader.hpp"

#include <utility>

namespace srigl::studio {

RecordedCurves readRecordedCurves(sessions::RunStore& store, int64_t runId) {
    RecordedCurves out;
    out.runId = runId;
    for (const auto& m : store.metrics(runId)) {
        const CurvePoint p{static_cast<double>(m.step), m.value};
        if (m.key == "train_loss") out.trainLoss.push_back(p);
        else if (m.key == "train_accuracy") out.trainAccuracy.push_back(p);
        else if (m.key == "test_loss") out.testLoss.push_back(p);
        else if (m.key == "test_accuracy") out.testAccuracy.push_back(p);
    }
    return out;
}

RecordedCurvesReader::RecordedCurvesReader(StoreReader& store) : store_(store) {}

bool RecordedCurvesReader::busy() const { return store_.isPending(request_); }

bool RecordedCurvesReader::start(const std::string& dbPath, int64_t runId) {
    if (busy()) return false;
    result_.reset();
    // The session may record into a database the window no longer shows: nothing to merge then.
    if (QString::fromStdString(dbPath) != store_.database()) return true;
    request_ = store_.request(
        &context_, QString(), [runId](sessions::RunStore& store) { return readRecordedCurves(store, runId); },
        [this](RecordedCurves curves) { result_ = std::move(curves); });
    // A failed read leaves no result: the sampled curves stay as they are.
    return true;
}

std::optional<RecordedCurves> RecordedCurvesReader::take() {
    if (busy()) return std::nullopt;
    return std::exchange(result_, std::nullopt);
}

} // namespace srigl::studio
