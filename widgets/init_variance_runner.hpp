// Runs a sessions::runInitVarianceJob on its own thread for the init-variance panel: progress and
// the result come back as queued signals, cancel() sets the job's flag (checked between
// sparsities). The UI thread never waits on the analysis, except when the runner is destroyed
// mid-run: it cancels, then joins.
#pragma once

#include "sessions/init_variance_job.hpp"

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace srigl::studio {

class InitVarianceRunner : public QObject {
    Q_OBJECT
public:
    explicit InitVarianceRunner(QObject* parent = nullptr);
    ~InitVarianceRunner() override;

    bool isRunning() const { return running_; }
    // False when an analysis is still running.
    bool start(const sessions::InitVarianceJobSettings& settings);
    void cancel();
    // The points of the last analysis that finished (empty after a failed or cancelled one).
    const std::vector<sessions::InitVariancePoint>& lastPoints() const { return points_; }

Q_SIGNALS:
    void progress(qint64 done, qint64 total, const QString& current);
    // error is empty on success.
    void finished(bool ok, bool cancelled, const QString& error);

private:
    std::shared_ptr<std::atomic<bool>> cancel_;
    std::thread thread_;
    bool running_ = false;
    std::vector<sessions::InitVariancePoint> points_;
};

} // namespace srigl::studio
