// The checkpoint import job.
#include "widgets/runs/import_runner.hpp"

namespace srigl::studio {

bool ImportRunner::start(const sessions::ImportRequest& request) {
    if (isRunning()) return false;
    result_.reset();
    return launch([this, request](const Report& report, const std::atomic<bool>* cancel) {
        auto result = sessions::runImportJob(request, report, cancel);
        return std::function<void()>([this, result = std::move(result)]() mutable { result_ = std::move(result); });
    });
}

} // namespace srigl::studio
