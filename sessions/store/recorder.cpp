// The recorder's queue and writer thread.
#include "sessions/store/recorder.hpp"

#include "sessions/store/weight_codec.hpp"
#include "sessions/store/weight_stats.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>

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
    std::vector<MaskRecord> records;
    for (auto& snap : snaps) {
        const auto it = std::find_if(stats.begin(), stats.end(), [&](const LayerUpdateStats& s) { return s.name == snap.name; });
        if (it == stats.end()) continue;
        MaskRecord r;
        r.step = step;
        r.stats = *it;
        r.mask = std::move(snap);
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
        flushed_.wait(lock, [&] { return flushDone_ >= ticket || !error_.empty() || !writer_.joinable(); });
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

void Recorder::writerLoop() {
    std::unique_ptr<RunStore> store;
    try {
        store = std::make_unique<RunStore>(dbPath_);
    } catch (const StoreError& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = e.what();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        // Batch: wake on masks/checkpoints or every half second for metrics.
        wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return flushAsked_ > flushDone_ || closing_; });
        std::vector<Metric> metrics;
        std::vector<MaskRecord> masks;
        std::vector<std::pair<int64_t, std::string>> checkpoints;
        std::vector<WeightJob> weightJobs;
        weightJobs.swap(weightJobs_);
        metrics.swap(metrics_);
        masks.swap(masks_);
        checkpoints.swap(checkpoints_);
        const bool closing = closing_;
        const uint64_t flushTicket = flushAsked_;
        lock.unlock();
        bool healthy = false;
        {
            std::lock_guard<std::mutex> errLock(mutex_);
            healthy = error_.empty();
        }
        if (store && healthy) {
            try {
                store->addMetrics(runId_, metrics);
                int64_t lastStep = 0;
                for (const auto& m : metrics) lastStep = std::max(lastStep, m.step);
                if (lastStep > 0) store->updateProgress(runId_, lastStep);
                store->addMasks(runId_, masks);
                std::vector<WeightStatsRecord> stats;
                std::vector<WeightValuesRecord> values;
                std::vector<GradientRecord> gradients;
                for (auto& job : weightJobs) {
                    for (auto& g : job.gradients)
                        gradients.push_back({job.step, g.name, g.outFeatures, g.fanIn, std::move(g.values)});
                    for (const auto& w : job.weights) {
                        const auto mask = std::find_if(job.masks.begin(), job.masks.end(),
                                                       [&](const LayerMaskSnapshot& m) { return m.name == w.name; });
                        if (mask == job.masks.end()) continue;
                        WeightValuesRecord v;
                        v.step = job.step;
                        v.layer = w.name;
                        v.values = activeWeights(w, *mask);
                        stats.push_back({job.step, computeWeightStats(w.name, v.values)});
                        values.push_back(std::move(v));
                    }
                }
                store->addWeightStats(runId_, stats);
                store->addWeightValues(runId_, values);
                store->addGradients(runId_, gradients);
                for (const auto& c : checkpoints) store->addCheckpoint(runId_, c.first, c.second);
            } catch (const StoreError& e) {
                std::lock_guard<std::mutex> errLock(mutex_);
                error_ = e.what();
            }
        }
        lock.lock();
        // Everything queued before this batch was taken is committed (or recording failed).
        flushDone_ = flushTicket;
        flushed_.notify_all();
        if (closing && metrics_.empty() && masks_.empty() && checkpoints_.empty() && weightJobs_.empty()) break;
    }
    cost_.writerCpuSeconds = threadCpuSeconds();
    flushDone_ = flushAsked_;
    flushed_.notify_all();
}

std::string Recorder::error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
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
