// Runs a sessions::runBenchJob on its own thread for the timing panel: progress and the result
// come back as queued signals, cancel() sets the job's flag. The UI thread never waits on a bench
// (except when the runner is destroyed mid-run: it cancels, then joins; benchLayer checks the flag
// between repetitions).
#pragma once

#include "sessions/bench_job.hpp"

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace srigl::studio {

class BenchRunner : public QObject {
    Q_OBJECT
public:
    explicit BenchRunner(QObject* parent = nullptr);
    ~BenchRunner() override;

    bool isRunning() const { return running_; }
    // False when a bench is still running.
    bool start(const sessions::BenchJobSettings& settings);
    void cancel();
    const std::vector<sessions::TimingRecord>& lastRows() const { return rows_; }

Q_SIGNALS:
    void progress(qint64 done, qint64 total, const QString& current);
    // error is empty on success; cancelled: nothing was stored.
    void finished(bool ok, bool cancelled, const QString& error);

private:
    struct Shared {
        std::atomic<bool> cancel{false};
    };
    std::shared_ptr<Shared> shared_;
    std::thread thread_;
    bool running_ = false;
    std::vector<sessions::TimingRecord> rows_;
};

} // namespace srigl::studio
