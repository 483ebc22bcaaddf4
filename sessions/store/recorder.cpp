// The recorder's queue and writer thread.
#include "sessions/store/recorder.hpp"

#include "sessions/store/weight_codec.hpp"
#include "sessions/store/weight_stats.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace srigl::sessions {
namespace {

// Adds the wall time of its scope to a counter (the callbacks run on the training thread).
class ScopedCost {
public:
    explicit ScopedCost(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
    ~ScopedCost() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

private:
    double& total_;
    std::chrono::steady_clock::time_point start_;
};

double threadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

} // namespace

Recorder::Recorder(const std::string& dbPath, int64_t runId,
                   std::function<std::vector<LayerMaskSnapshot>()> maskSource, TrainingObserver* next)
    : dbPath_(dbPath), runId_(runId), maskSource_(std::move(maskSource)), next_(next) {
    writer_ = std::thread([this] { writerLoop(); });
}

Recorder::~Recorder() { close(); }

void Recorder::queueMasks(int64_t step, const std::vector<LayerUpdateStats>& stats,
                          const std::function<std::vector<LayerWeightSnapshot>()>& gradients) {
    if (!maskSource_) return;
    auto snaps = maskSource_();
    WeightJob job;
    if (weightSource_) {
        job.step = step;
        job.weights = weightSource_();
        job.masks = snaps; // every layer: static layers' weights change too
        if (gradients) job.gradients = gradients(); // only valid now, inside the callback
    }
    // One record per layer of the event, in its order. A layer the source gave no snapshot of (a
    // condensed layer of which not even one row fits the trainer's DenseFormLimits; larger layers
    // come sampled by rows) still has its statistics stored, as a record without bits
    // (RunStore::addMasks).
    std::vector<MaskRecord> records;
    for (const auto& s : stats) {
        MaskRecord r;
        r.step = step;
        r.stats = s;
        const auto snap = std::find_if(snaps.begin(), snaps.end(), [&](const LayerMaskSnapshot& m) { return m.name == s.name; });
        if (snap != snaps.end()) {
            r.mask = std::move(*snap);
        } else {
            r.mask.name = s.name;
            r.mask.outFeatures = s.outFeatures;
            r.mask.fanIn = s.fanIn;
        }
        records.push_back(std::move(r));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& r : records) masks_.push_back(std::move(r));
    if (weightSource_) weightJobs_.push_back(std::move(job));
    wake_.notify_one();
}

void Recorder::onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) {
    ScopedCost scoped(cost_.callbackSeconds);
    queueMasks(startStep_, layers);
    if (next_) next_->onStart(layers, totalSteps);
}

void Recorder::onStep(const StepMetrics& m) {
    ScopedCost scoped(cost_.callbackSeconds);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        metrics_.push_back({m.step, "train_loss", m.loss});
        metrics_.push_back({m.step, "train_accuracy", m.accuracy});
        metrics_.push_back({m.step, "lr", m.lr});
        metrics_.push_back({m.step, "samples_per_second", m.samplesPerSecond});
    }
    if (next_) next_->onStep(m);
}

void Recorder::onDenseReference(const DenseReference& r) {
    if (next_) next_->onDenseReference(r);
}

void Recorder::onMaskUpdate(const MaskUpdateEvent& e) {
    ScopedCost scoped(cost_.callbackSeconds);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        metrics_.push_back({e.step, "mask_update_seconds", e.seconds});
        metrics_.push_back({e.step, "drop_fraction", e.dropFraction});
    }
    // Layers without a dynamic mask are not in the event; they keep their step-0 snapshot.
    queueMasks(e.step, e.layers, e.gradients);
    if (next_) next_->onMaskUpdate(e);
}

void Recorder::onEvaluation(const EvalMetrics& m) {
    ScopedCost scoped(cost_.callbackSeconds);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        metrics_.push_back({m.step, "test_loss", m.testLoss});
        metrics_.push_back({m.step, "test_accuracy", m.testAccuracy});
    }
    if (next_) next_->onEvaluation(m);
}

void Recorder::onBeforeCheckpoint(int64_t step) {
    ScopedCost scoped(cost_.callbackSeconds);
    {
        std::unique_lock<std::mutex> lock(mutex_);
        const uint64_t ticket = ++flushAsked_;
        wake_.notify_one();
        // While the database refuses writes, the checkpoint goes ahead with the history held in memory.
        flushed_.wait(lock, [&] {
            return flushDone_ >= ticket || !error_.empty() || health_.waiting || !writer_.joinable();
        });
        if (takenOver_) throw RunTakenOver(error_);
    }
    if (next_) next_->onBeforeCheckpoint(step);
}

void Recorder::onCheckpoint(int64_t step, const std::string& path) {
    ScopedCost scoped(cost_.callbackSeconds);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        checkpoints_.push_back({step, path});
        wake_.notify_one();
    }
    if (next_) next_->onCheckpoint(step, path);
}

void Recorder::onFinished(const TrainingSummary& s) {
    if (next_) next_->onFinished(s);
}

RecordBatch Recorder::takeQueued(std::vector<WeightJob>& jobs) {
    RecordBatch batch;
    batch.metrics.swap(metrics_);
    batch.masks.swap(masks_);
    batch.checkpoints.swap(checkpoints_);
    jobs.swap(weightJobs_);
    return batch;
}

void Recorder::finishBatch(RecordBatch& batch, std::vector<WeightJob>& jobs) {
    for (auto& job : jobs) {
        for (auto& g : job.gradients)
            batch.gradients.push_back({job.step, g.name, g.outFeatures, g.fanIn, std::move(g.values)});
        for (const auto& w : job.weights) {
            const auto mask = std::find_if(job.masks.begin(), job.masks.end(),
                                           [&](const LayerMaskSnapshot& m) { return m.name == w.name; });
            if (mask == job.masks.end()) continue;
            WeightValuesRecord v;
            v.step = job.step;
            v.layer = w.name;
            v.values = activeWeights(w, *mask);
            batch.weightStats.push_back({job.step, computeWeightStats(w.name, v.values)});
            batch.weightValues.push_back(std::move(v));
        }
    }
    jobs.clear();
}

void Recorder::writerLoop() {
    using Clock = std::chrono::steady_clock;
    // A write waits this long for another process's lock before it counts as refused; the writer
    // then holds its records and tries again later, so it need not wait SQLite's usual 5 s.
    constexpr int kBusyMs = 1000;
    constexpr auto kFirstRetry = std::chrono::milliseconds(250), kLongestRetry = std::chrono::milliseconds(4000);
    std::unique_ptr<RunStore> store;
    RecordBatch held;             // taken from the queues, not yet stored
    std::string shedError;        // the refusal during which records were shed
    auto retryIn = kFirstRetry;
    Clock::time_point nextTry{}, closeStarted{}, lastWrite = Clock::now();
    bool closeSeen = false;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (health_.waiting) {
            // Retries keep their pace (new records, flushes and close join the held batch).
            wake_.wait_until(lock, nextTry, [&] { return Clock::now() >= nextTry; });
        } else {
            // Batch: wake on masks/checkpoints or every half second for metrics.
            wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return flushAsked_ > flushDone_ || closing_; });
        }
        std::vector<WeightJob> jobs;
        RecordBatch fresh = takeQueued(jobs);
        const bool closing = closing_;
        const uint64_t flushTicket = flushAsked_;
        // A checkpoint waits on this flush: the claim is checked even with nothing to write, so a
        // process whose run was taken over never writes the checkpoint after it.
        const bool flushing = flushAsked_ > flushDone_;
        const bool failed = !error_.empty();
        const size_t heldLimit = heldLimit_;
        const auto closeGrace = closeGrace_;
        const auto heartbeat = heartbeat_;
        lock.unlock();
        if (closing && !closeSeen) {
            closeSeen = true;
            closeStarted = Clock::now();
        }
        finishBatch(fresh, jobs);
        if (failed) fresh = {}; // a write error that will not pass: the run's records stop there
        held.append(std::move(fresh));

        std::string transient, permanent;
        bool takenOver = false;
        // Nothing to write for a while (a long evaluation): still heard from, and the claim checked.
        const bool heartbeatDue = !failed && Clock::now() - lastWrite >= heartbeat;
        if (!held.empty() || ((flushing || heartbeatDue) && !failed)) {
            lastWrite = Clock::now(); // a refused heartbeat is tried again an interval later
            try {
                if (!store) {
                    store = std::make_unique<RunStore>(dbPath_);
                    store->database().setBusyTimeout(kBusyMs);
                }
                if (!held.empty()) held.writeTo(*store, runId_); // checks the claim in its transaction
                else {
                    // The claim first, as a read: it answers while another process holds the write
                    // lock, which the heartbeat's write may wait for in vain.
                    store->requireClaim(runId_);
                    store->heartbeat(runId_);
                }
                held = {};
            } catch (const RunTakenOver& e) {
                permanent = e.what();
                takenOver = true;
            } catch (const StoreError& e) {
                // Nothing held: a lock or a full disk at the heartbeat waits for the next batch's write.
                if (!held.empty()) (e.mayPass() ? transient : permanent) = e.what();
            }
        }
        int64_t shed = 0;
        if (!transient.empty()) {
            shed = held.shed(heldLimit);
            if (shed > 0) shedError = transient;
        }
        const bool givingUp = !transient.empty() && closing && Clock::now() - closeStarted >= closeGrace;

        lock.lock();
        const RecordingHealth before = health_;
        if (!permanent.empty()) {
            if (error_.empty()) {
                error_ = permanent;
                takenOver_ = takenOver;
            }
            held = {};
        }
        health_.droppedRecords += shed;
        if (givingUp && error_.empty()) {
            const auto [first, last] = held.stepRange();
            char grace[32];
            std::snprintf(grace, sizeof grace, "%.1f", static_cast<double>(closeGrace.count()) / 1000.0);
            error_ = std::to_string(held.recordCount()) + " records of steps " + std::to_string(first) + " to " +
                     std::to_string(last) + " could not be stored (retried for " + grace +
                     " s after training ended): " + transient;
            if (health_.droppedRecords > 0)
                error_ += "; " + std::to_string(health_.droppedRecords) +
                          " gradient, weight or mask snapshots were dropped before that to bound memory";
        }
        if (givingUp) held = {};
        health_.waiting = !transient.empty() && !givingUp;
        health_.error = health_.waiting ? transient : std::string();
        health_.heldRecords = held.recordCount();
        if (health_.waiting) {
            if (!before.waiting) retryIn = kFirstRetry;
            nextTry = Clock::now() + retryIn;
            retryIn = std::min(retryIn * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kLongestRetry));
        }
        // Everything queued before this batch was taken is committed, held for a retry, or given
        // up (a write error): a checkpoint waits for no longer than that.
        flushDone_ = flushTicket;
        flushed_.notify_all();
        const RecordingHealth now = health_;
        const bool done = closing && !health_.waiting && metrics_.empty() && masks_.empty() && checkpoints_.empty() &&
                          weightJobs_.empty();
        if (done && health_.droppedRecords > 0 && error_.empty())
            error_ = std::to_string(health_.droppedRecords) +
                     " gradient, weight or mask snapshots were dropped to bound memory while the database refused "
                     "writes (" + shedError + "); metrics and the newest mask of every layer were kept";
        if (healthListener_ && (now.waiting != before.waiting || now.droppedRecords != before.droppedRecords)) {
            const auto listener = healthListener_;
            lock.unlock(); // the listener may take its own locks
            listener(now);
            lock.lock();
        }
        if (done) break;
    }
    cost_.writerCpuSeconds = threadCpuSeconds();
    flushDone_ = flushAsked_;
    flushed_.notify_all();
}

std::string describeRecordingHealth(const RecordingHealth& h) {
    std::string text;
    if (h.waiting)
        text = "recording waits: the database refused a write (" + h.error + "); training goes on, " +
               std::to_string(h.heldRecords) + " records are held in memory and written as soon as it accepts them";
    else if (h.heldRecords == 0)
        text = "recording caught up: every held record is stored";
    else
        text = "recording: " + std::to_string(h.heldRecords) + " records held";
    if (h.droppedRecords > 0)
        text += " (" + std::to_string(h.droppedRecords) +
                " gradient, weight or old mask snapshots were dropped to bound that memory)";
    return text;
}

std::string Recorder::error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
}

RecordingHealth Recorder::health() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return health_;
}

std::string Recorder::close() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closing_ = true;
        wake_.notify_one();
    }
    if (writer_.joinable()) writer_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
}

} // namespace srigl::sessions
