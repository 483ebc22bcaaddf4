// The merge's progress in the job protocol of the Studio's other background jobs.
#include "widgets/database/run_merge_runner.hpp"

namespace srigl::studio {

sessions::MergeResult runRunMerge(const RunMergeRequest& request,
                                  const std::function<void(const sessions::JobProgress&)>& report,
                                  const std::atomic<bool>* cancel) {
    sessions::RunStore target(request.target, sessions::RunStore::Mode::ReadWriteExisting);
    const auto result = sessions::mergeRuns(target, request.source, {}, [&](int64_t done, int64_t total) {
        if (report) report({done, total, std::to_string(done) + " of " + std::to_string(total) + " runs"});
        return !(cancel && cancel->load());
    });
    if (result.stopped)
        throw sessions::JobCancelled("merge cancelled; the " + std::to_string(result.merged.size()) +
                                     " runs merged before it stay");
    return result;
}

} // namespace srigl::studio
