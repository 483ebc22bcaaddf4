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

// Reports one step per phase: reading and checking every file (the long part, done 0 of 2), then
// the recorded run (2 of 2). The import itself cannot stop halfway, so the flag is read before it
// starts and when it has ended: a cancel that arrives meanwhile deletes the run just recorded
// before ImportJobCancelled is thrown. Every other failure is importCheckpoints' own (CheckpointError
// naming the file, ConfigError, StoreError), with nothing recorded.
ImportResult runImportJob(const ImportRequest& request,
                          const std::function<void(const ImportJobProgress&)>& progress = {},
                          const std::atomic<bool>* cancel = nullptr);

} // namespace srigl::sessions
