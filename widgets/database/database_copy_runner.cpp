// The copy's progress in the job protocol of the Studio's other background jobs.
#include "widgets/database/database_copy_runner.hpp"

#include "sessions/store/store_error.hpp"

#include <algorithm>
#include <cstdio>

namespace srigl::studio {

sessions::DatabaseCopy runDatabaseCopy(const DatabaseCopyRequest& request,
                                       const std::function<void(const sessions::JobProgress&)>& report,
                                       const std::atomic<bool>* cancel) {
    const auto stopped = [cancel] { return cancel && cancel->load(); };
    try {
        return sessions::copyDatabase(request.source, request.out, [&](int64_t written, int64_t expected) {
            if (report) {
                char text[64];
                std::snprintf(text, sizeof text, "%.1f of %.1f MiB", static_cast<double>(written) / (1 << 20),
                              static_cast<double>(expected) / (1 << 20));
                report({std::min(written, expected) >> 10, std::max<int64_t>(expected >> 10, 1), text});
            }
            return !stopped();
        });
    } catch (const sessions::StoreError&) {
        if (stopped()) throw sessions::JobCancelled("copy cancelled; nothing was written");
        throw;
    }
}

} // namespace srigl::studio
