// The Studio's one way to read the session store: one background thread with one read-only
// connection (reopened when the database changes), requests run in order, typed results handed to
// the UI thread, stale ones dropped. Modelled on KDAB Hotspot's job tracker and ImHex's task
// manager. The UI thread itself never touches SQLite.
#pragma once

#include "sessions/store/run_store.hpp"

#include <QObject>
#include <QPointer>
#include <QString>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace srigl::studio {

class StoreReader : public QObject {
    Q_OBJECT
public:
    using RequestId = quint64;
    using ErrorHandler = std::function<void(const QString& message)>;

    explicit StoreReader(QObject* parent = nullptr);
    // The read in progress finishes (its result is dropped, like every queued request's).
    ~StoreReader() override;

    // The database reads go to. Another path drops every read queued or running (their results
    // never arrive); the connection is opened read-only before the next read, and a failed open is
    // tried again by the read after it (a database that is being created). The same path: nothing.
    void setDatabase(const QString& path);
    QString database() const { return path_; }

    // Runs read(store) on the reader's thread after every request made before it, and hands its
    // result to onResult (or the exception's message to onError) on the UI thread. A request with
    // the same context and a non-empty key as an older one supersedes it: the older one is dropped
    // if it has not started, and its result is dropped if it has. Nothing arrives once `context` is
    // destroyed. `context` lives on the reader's thread (the UI thread).
    template <typename Read, typename OnResult>
    RequestId request(QObject* context, const QString& key, Read read, OnResult onResult, ErrorHandler onError = {}) {
        Job job;
        job.work = bind(std::move(read), std::move(onResult));
        return enqueue(context, key, std::move(job), std::move(onError));
    }

    // An edit (tags, notes, a delete) or the creation of a database: write(store) runs in order
    // with the reads, on the reader's thread, through a read-write connection to `path` opened for
    // it alone (`mode`: whether it may create the file). Unlike reads, writes are never dropped;
    // their result arrives while `context` lives.
    template <typename Write, typename OnResult>
    RequestId write(QObject* context, const QString& path, sessions::RunStore::Mode mode, Write write,
                    OnResult onResult, ErrorHandler onError = {}) {
        Job job;
        job.isWrite = true;
        job.path = path;
        job.mode = mode;
        job.work = bind(std::move(write), std::move(onResult));
        return enqueue(context, QString(), std::move(job), std::move(onError));
    }

    // True from request() until its result or error is handed over, or it is dropped.
    bool isPending(RequestId id) const { return pending_.count(id) > 0; }

private:
    // Runs on the reader's thread; returns what to do on the UI thread.
    using Delivery = std::function<void()>;
    using Work = std::function<Delivery(sessions::RunStore&)>;

    struct Job {
        RequestId id = 0;
        bool isWrite = false;
        QString path; // the file a write opens; a read's is set by enqueue (the reader's database)
        sessions::RunStore::Mode mode = sessions::RunStore::Mode::ReadOnly;
        Work work;
    };

    template <typename Work_, typename OnResult>
    static Work bind(Work_ work, OnResult onResult) {
        using R = std::decay_t<std::invoke_result_t<Work_&, sessions::RunStore&>>;
        static_assert(!std::is_void_v<R>, "a request returns what it read");
        return [work = std::move(work), onResult = std::move(onResult)](sessions::RunStore& store) mutable -> Delivery {
            auto result = std::make_shared<R>(work(store));
            return [onResult, result]() mutable { onResult(std::move(*result)); };
        };
    }

    RequestId enqueue(QObject* context, const QString& key, Job job, ErrorHandler onError);
    void dropQueuedReads(); // with mutex_ held
    void run();
    Delivery execute(Job& job);
    void deliver(RequestId id, const Delivery& delivery, const std::optional<QString>& error);

    // UI thread only.
    struct Waiting {
        QPointer<QObject> context;
        ErrorHandler onError;
        bool isWrite = false;
        std::pair<const QObject*, QString> key;
    };
    QString path_;
    RequestId lastId_ = 0;
    std::map<RequestId, Waiting> pending_;
    std::map<std::pair<const QObject*, QString>, RequestId> latest_; // by (context, key)

    // Shared with the reader's thread.
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    bool stop_ = false;

    // The reader's thread only.
    std::unique_ptr<sessions::RunStore> store_;
    QString storePath_;
    std::thread thread_;
};

} // namespace srigl::studio
