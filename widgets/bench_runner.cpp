// The timing panel's worker thread.
#include "widgets/bench_runner.hpp"

#include <QMetaObject>

namespace srigl::studio {

BenchRunner::BenchRunner(QObject* parent) : QObject(parent) {}

BenchRunner::~BenchRunner() {
    if (shared_) shared_->cancel = true;
    if (thread_.joinable()) thread_.join();
}

bool BenchRunner::start(const sessions::BenchJobSettings& settings) {
    if (running_) return false;
    if (thread_.joinable()) thread_.join(); // the previous one has finished
    running_ = true;
    shared_ = std::make_shared<Shared>();
    // The thread posts to `this`; the destructor joins it first, so `this` outlives every post.
    thread_ = std::thread([this, settings, shared = shared_] {
        std::vector<sessions::TimingRecord> rows;
        bool ok = false, cancelled = false;
        QString error;
        try {
            rows = sessions::runBenchJob(
                settings,
                [this](const sessions::BenchJobProgress& p) {
                    QMetaObject::invokeMethod(
                        this, [this, p] { Q_EMIT progress(p.done, p.total, QString::fromStdString(p.current)); },
                        Qt::QueuedConnection);
                },
                &shared->cancel);
            ok = true;
        } catch (const sessions::BenchJobCancelled& e) {
            cancelled = true;
            error = QString::fromStdString(e.what());
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(
            this,
            [this, rows = std::move(rows), ok, cancelled, error]() mutable {
                rows_ = std::move(rows);
                running_ = false;
                Q_EMIT finished(ok, cancelled, error);
            },
            Qt::QueuedConnection);
    });
    return true;
}

void BenchRunner::cancel() {
    if (shared_) shared_->cancel = true;
}

} // namespace srigl::studio
