// Runs sessions::copyDatabase in the background for File > Save a copy of the database (see
// JobRunner): a copy of a large database never blocks the UI thread, reports its bytes, and a
// cancel leaves no file. The result: the copy's runs and size.
#pragma once

#include "sessions/session/job_progress.hpp"
#include "sessions/store/database_copy.hpp"
#include "widgets/jobs/job_runner.hpp"

#include <atomic>
#include <functional>
#include <string>

namespace srigl::studio {

struct DatabaseCopyRequest {
    std::string source, out;
};

// Progress in KiB (a QProgressBar's int range holds 2 TiB of them), the current text in MiB;
// sessions::JobCancelled when the flag stopped it, nothing written.
sessions::DatabaseCopy runDatabaseCopy(const DatabaseCopyRequest& request,
                                       const std::function<void(const sessions::JobProgress&)>& report,
                                       const std::atomic<bool>* cancel);

class DatabaseCopyRunner : public JobRunner<DatabaseCopyRequest, sessions::DatabaseCopy> {
public:
    explicit DatabaseCopyRunner(QObject* parent = nullptr) : JobRunner(&runDatabaseCopy, parent) {}
};

} // namespace srigl::studio
