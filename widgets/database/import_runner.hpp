// Runs a sessions::runImportJob in the background for File > Import checkpoint (see JobRunner):
// reading the checkpoints never blocks the UI thread, and a failed or cancelled import records
// nothing. The result: what the import recorded.
#pragma once

#include "sessions/session/import_job.hpp"
#include "widgets/jobs/job_runner.hpp"

namespace srigl::studio {

class ImportRunner : public JobRunner<sessions::ImportRequest, sessions::ImportResult> {
public:
    explicit ImportRunner(QObject* parent = nullptr) : JobRunner(&sessions::runImportJob, parent) {}
};

} // namespace srigl::studio
