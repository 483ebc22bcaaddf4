// The import job: importCheckpoints with a look at the cancel flag before each file and after the end.
#include "sessions/session/import_job.hpp"

#include "sessions/store/run_store.hpp"

#include <filesystem>

namespace srigl::sessions {

ImportResult runImportJob(const ImportRequest& request, const std::function<void(const ImportJobProgress&)>& progress,
                          const std::atomic<bool>* cancel) {
    // One step per file read, then one for the recording.
    const auto total = static_cast<int64_t>(request.files.size()) + 1;
    auto report = [&](int64_t done, const std::string& current) {
        if (progress) progress({done, total, current});
    };
    auto cancelled = [cancel] { return cancel && cancel->load(); };
    if (cancelled()) throw ImportJobCancelled();
    ImportResult result = importCheckpoints(request, [&](size_t index, size_t, const std::string& path) {
        // Between files nothing is recorded yet: stopping here leaves the store as it was.
        if (cancelled()) throw ImportJobCancelled();
        report(static_cast<int64_t>(index), "reading " + std::filesystem::path(path).filename().string());
    });
    if (cancelled()) {
        // Finished as imported, so no live process holds it: the delete cannot be refused.
        RunStore(request.dbPath).deleteRun(result.runId);
        throw ImportJobCancelled();
    }
    report(total, "recorded run " + std::to_string(result.runId));
    return result;
}

} // namespace srigl::sessions
