// A panel's long job on its own thread (a bench, an analysis): progress and the end come back to
// the UI thread as queued signals, cancel() sets the flag the job polls. The UI thread never waits
// on a job, except when the runner is destroyed mid-run: it cancels, then joins.
#pragma once

#include "sessions/session/job_progress.hpp"

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace srigl::studio {

class BackgroundJob : public QObject {
    Q_OBJECT
public:
    ~BackgroundJob() override;

    bool isRunning() const { return running_; }
    // The nice increment of the job's thread (sessions::kInteractiveTrainerNiceness for jobs that
    // train, 0 for those that time something).
    int niceness() const { return niceness_; }
    void cancel();

Q_SIGNALS:
    void progress(qint64 done, qint64 total, const QString& current);
    // error is empty on success; cancelled: the job threw sessions::JobCancelled.
    void finished(bool ok, bool cancelled, const QString& error);

protected:
    explicit BackgroundJob(QObject* parent, int niceness = 0);

    using Report = std::function<void(const sessions::JobProgress&)>;
    // What a job does on its thread, given a progress callback and the cancel flag. It returns
    // the step that keeps its result, run on the UI thread just before finished(true, ...).
    using Work = std::function<std::function<void()>(const Report& report, const std::atomic<bool>* cancel)>;
    // False when a job is still running.
    bool launch(Work work);

private:
    std::shared_ptr<std::atomic<bool>> cancel_;
    std::thread thread_;
    bool running_ = false;
    int niceness_ = 0;
};

} // namespace srigl::studio
