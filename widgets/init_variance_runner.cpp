// The init-variance panel's worker thread.
#include "widgets/init_variance_runner.hpp"

#include <QMetaObject>

#include <exception>

namespace srigl::studio {

InitVarianceRunner::InitVarianceRunner(QObject* parent) : QObject(parent) {}

InitVarianceRunner::~InitVarianceRunner() {
    if (cancel_) *cancel_ = true;
    if (thread_.joinable()) thread_.join();
}

bool InitVarianceRunner::start(const sessions::InitVarianceJobSettings& settings) {
    if (running_) return false;
    if (thread_.joinable()) thread_.join(); // the previous one has finished
    running_ = true;
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    // The thread posts to `this`; the destructor joins it first, so `this` outlives every post.
    thread_ = std::thread([this, settings, cancel = cancel_] {
        std::vector<sessions::InitVariancePoint> points;
        bool ok = false, cancelled = false;
        QString error;
        try {
            points = sessions::runInitVarianceJob(
                settings,
                [this](const sessions::InitVarianceProgress& p) {
                    QMetaObject::invokeMethod(
                        this, [this, p] { Q_EMIT progress(p.done, p.total, QString::fromStdString(p.current)); },
                        Qt::QueuedConnection);
                },
                cancel.get());
            ok = true;
        } catch (const sessions::InitVarianceCancelled& e) {
            cancelled = true;
            error = QString::fromStdString(e.what());
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(
            this,
            [this, points = std::move(points), ok, cancelled, error]() mutable {
                points_ = std::move(points);
                running_ = false;
                Q_EMIT finished(ok, cancelled, error);
            },
            Qt::QueuedConnection);
    });
    return true;
}

void InitVarianceRunner::cancel() {
    if (cancel_) *cancel_ = true;
}

} // namespace srigl::studio
