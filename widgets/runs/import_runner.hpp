// Runs a sessions::runImportJob in the background for File > Import checkpoint (see BackgroundJob):
// reading the checkpoints never blocks the UI thread.
#pragma once

#include "sessions/session/import_job.hpp"
#include "widgets/jobs/background_job.hpp"

#include <optional>

namespace srigl::studio {

class ImportRunner : public BackgroundJob {
    Q_OBJECT
public:
    explicit ImportRunner(QObject* parent = nullptr) : BackgroundJob(parent) {}

    // False when an import is still running. A failed or cancelled import records nothing.
    bool start(const sessions::ImportRequest& request);
    // What the last import that finished recorded (none while one runs and after a failed one).
    const std::optional<sessions::ImportResult>& lastResult() const { return result_; }

private:
    std::optional<sessions::ImportResult> result_;
};

} // namespace srigl::studio
