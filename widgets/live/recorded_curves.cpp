// Background reads of recorded metrics for the live curves.
#include "widgets/live/recorded_curves.hpp"

#include "sessions/store/run_store.hpp"

namespace srigl::studio {

RecordedCurves readRecordedCurves(const std::string& dbPath, int64_t runId) {
    sessions::RunStore store(dbPath, sessions::RunStore::Mode::ReadOnly);
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

RecordedCurvesReader::~RecordedCurvesReader() {
    if (thread_.joinable()) thread_.join();
}

bool RecordedCurvesReader::busy() const {
    return job_ && !job_->done.load();
}

bool RecordedCurvesReader::start(const std::string& dbPath, int64_t runId) {
    if (busy()) return false;
    if (thread_.joinable()) thread_.join(); // finished: returns at once
    job_ = std::make_shared<Job>();
    thread_ = std::thread([job = job_, dbPath, runId] {
        try {
            job->result = readRecordedCurves(dbPath, runId);
        } catch (const std::exception&) {
            // Nothing to merge: the sampled curves stay as they are.
        }
        job->done.store(true);
    });
    return true;
}

std::optional<RecordedCurves> RecordedCurvesReader::take() {
    if (!job_ || !job_->done.load()) return std::nullopt;
    auto result = std::move(job_->result);
    job_.reset();
    return result;
}

} // namespace srigl::studio
