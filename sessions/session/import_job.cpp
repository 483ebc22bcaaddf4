// The import job: importCheckpoints between two looks at the cancel flag.
#include "sessions/session/import_job.hpp"

#include "sessions/store/run_store.hpp"

#include <filesystem>

namespace srigl::sessions {

ImportResult runImportJob(const ImportRequest& request, const std::function<void(const ImportJobProgress&)>& progress,
                          const std::atomic<bool>* cancel) {
    auto report = [&](int64_t done, const std::string& current) {
        if (progress) progress({done, 2, current});
    };
    auto cancelled = [cancel] { return cancel && cancel->load(); };
    if (cancelled()) throw ImportJobCancelled();
    const std::string first =
        request.files.empty() ? std::string() : std::filesystem::path(request.files.front()).filename().string();
    report(0, request.files.size() == 1 ? "reading " + first
                                        : "reading " + std::to_string(request.files.size()) + " checkpoints");
    ImportResult result = importCheckpoints(request);
    if (cancelled()) {
        // Finished as imported, so no live process holds it: the delete cannot be refused.
        RunStore(request.dbPath).deleteRun(result.runId);
        throw ImportJobCancelled();
    }
    report(2, "recorded run " + std::to_string(result.runId));
    return result;
}

} // namespace srigl::sessions
