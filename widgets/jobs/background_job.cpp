// The worker thread shared by the Studio's runners.
#include "widgets/jobs/background_job.hpp"

#include "engine/runtime/threading.hpp"

#include <QMetaObject>

#include <exception>

namespace srigl::studio {

BackgroundJob::BackgroundJob(QObject* parent, int niceness) : QObject(parent), niceness_(niceness) {}

BackgroundJob::~BackgroundJob() {
    if (cancel_) *cancel_ = true;
    if (thread_.joinable()) thread_.join();
}

bool BackgroundJob::launch(Work work) {
    if (running_) return false;
    if (thread_.joinable()) thread_.join(); // the previous one has finished
    running_ = true;
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    // The thread posts to `this`; the destructor joins it first, so `this` outlives every post
    // (and QObject drops the posts still queued when it goes).
    thread_ = std::thread([this, work = std::move(work), cancel = cancel_, niceness = niceness_] {
        if (niceness > 0) lowerCurrentThreadPriority(niceness);
        std::function<void()> keep;
        bool ok = false, cancelled = false;
        QString error;
        try {
            keep = work(
                [this](const sessions::JobProgress& p) {
                    QMetaObject::invokeMethod(
                        this, [this, p] { Q_EMIT progress(p.done, p.total, QString::fromStdString(p.current)); },
                        Qt::QueuedConnection);
                },
                cancel.get());
            ok = true;
        } catch (const sessions::JobCancelled& e) {
            cancelled = true;
            error = QString::fromStdString(e.what());
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(
            this,
            [this, keep = std::move(keep), ok, cancelled, error] {
                if (ok && keep) keep();
                running_ = false;
                Q_EMIT finished(ok, cancelled, error);
            },
            Qt::QueuedConnection);
    });
    return true;
}

void BackgroundJob::cancel() {
    if (cancel_) *cancel_ = true;
}

} // namespace srigl::studio
