// The reader's queue and thread; results go back to the UI thread through the reader itself, so a
// result that comes back while the reader is being destroyed is dropped with it.
#include "widgets/common/store_reader.hpp"

#include "sessions/store/store_error.hpp"

#include <QMetaObject>

#include <algorithm>
#include <exception>

namespace srigl::studio {

StoreReader::StoreReader(QObject* parent) : QObject(parent), thread_([this] { run(); }) {}

StoreReader::~StoreReader() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        dropQueuedReads(); // a user's edit still queued is written before the thread ends
    }
    wake_.notify_all();
    thread_.join();
}

void StoreReader::dropQueuedReads() {
    queue_.erase(std::remove_if(queue_.begin(), queue_.end(), [](const Job& job) { return !job.isWrite; }),
                 queue_.end());
}

void StoreReader::setDatabase(const QString& path) {
    if (path == path_) return;
    path_ = path;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        dropQueuedReads();
    }
    // A read still running finishes; its result finds no waiting request and is dropped.
    for (auto it = pending_.begin(); it != pending_.end();)
        it = it->second.isWrite ? std::next(it) : pending_.erase(it);
    latest_.clear(); // writes have no key
}

StoreReader::RequestId StoreReader::enqueue(QObject* context, const QString& key, Job job, ErrorHandler onError) {
    const RequestId id = ++lastId_;
    const auto slot = std::make_pair(static_cast<const QObject*>(context), key);
    std::optional<RequestId> superseded;
    if (!key.isEmpty()) {
        if (const auto it = latest_.find(slot); it != latest_.end()) superseded = it->second;
        latest_[slot] = id;
    }
    if (superseded) pending_.erase(*superseded); // if it is running, its result is dropped when it comes back
    pending_[id] = Waiting{context, std::move(onError), job.isWrite, slot};
    job.id = id;
    if (!job.isWrite) job.path = path_;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (superseded) // not started yet: it never runs
            queue_.erase(
                std::remove_if(queue_.begin(), queue_.end(), [&](const Job& j) { return j.id == *superseded; }),
                queue_.end());
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return id;
}

void StoreReader::run() {
    for (;;) {
        Job job;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
            if (queue_.empty()) break; // stopping, and no edit is left to write
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        Delivery delivery;
        std::optional<QString> error;
        try {
            delivery = execute(job);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        } catch (...) {
            error = QStringLiteral("%1: unknown error").arg(job.path);
        }
        job.work = nullptr; // what the request captured is released here, not on the UI thread
        QMetaObject::invokeMethod(
            this, [this, id = job.id, delivery = std::move(delivery), error] { deliver(id, delivery, error); },
            Qt::QueuedConnection);
    }
    store_.reset();
}

StoreReader::Delivery StoreReader::execute(Job& job) {
    if (job.isWrite) {
        sessions::RunStore store(job.path.toStdString(), job.mode);
        return job.work(store);
    }
    if (job.path.isEmpty()) throw sessions::StoreError("no database is open");
    if (!store_ || storePath_ != job.path) {
        store_.reset();
        storePath_.clear();
        store_ = std::make_unique<sessions::RunStore>(job.path.toStdString(), sessions::RunStore::Mode::ReadOnly);
        storePath_ = job.path;
    }
    return job.work(*store_);
}

void StoreReader::deliver(RequestId id, const Delivery& delivery, const std::optional<QString>& error) {
    const auto it = pending_.find(id);
    if (it == pending_.end()) return; // superseded, or read from a database no longer shown
    Waiting waiting = std::move(it->second);
    pending_.erase(it);
    if (const auto latest = latest_.find(waiting.key); latest != latest_.end() && latest->second == id)
        latest_.erase(latest);
    if (!waiting.context) return; // whoever asked is gone
    if (!error)
        delivery();
    else if (waiting.onError)
        waiting.onError(*error);
}

} // namespace srigl::studio
