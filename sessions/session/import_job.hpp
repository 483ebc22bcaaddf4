// `srigl import` as a Studio job, behind plain types: the Studio (no Torch headers) hands over the
// files, a name and the database, and this runs importCheckpoints on the caller's thread with the
// job protocol of the other Studio jobs (a progress callback, a cancel flag), so that a cancelled
// import, like a failed one, leaves no run behind.
#pragma once

#include "sessions/session/checkpoint_import.hpp"
#include "sessions/session/job_progress.hpp"

#include <atomic>
#include <functional>

namespace srigl::sessions {

using ImportJobProgress = JobProgress;

class ImportJobCancelled : public JobCancelled {
public:
    ImportJobCancelled() : JobCancelled("import cancelled; nothing was recorded") {}
};

// Reports one step per file read (done i of files + 1), then the recorded run (files + 1 of
// files + 1). The flag is read before each file (nothing is recorded yet then) and when the import
// has ended: a cancel that arrives while the run is being written deletes the run just recorded
// before ImportJobCancelled is thrown. Every other failure is importCheckpoints' own (CheckpointError
// naming the file, ConfigError, StoreError), with nothing recorded.
ImportResult runImportJob(const ImportRequest& request,
                          const std::function<void(const ImportJobProgress&)>& progress = {},
                          const std::atomic<bool>* cancel = nullptr);

} // namespace srigl::sessions
