// Records a training run into the store without making training wait on disk: the trainer's
// observer callbacks only queue plain records; a writer thread with its own connection batches them
// into transactions. When the database refuses a write for a reason that may pass (another process
// holds its lock, the disk is full), nothing is dropped: the writer holds the batch in memory and
// tries again, with training going on, until the write succeeds or the run ends.
#pragma once

#include "engine/training/training_observer.hpp"
#include "sessions/store/record_batch.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/writer_stamp.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace srigl::sessions {

// How recording is doing, for a front end to show while the run trains.
struct RecordingHealth {
    bool waiting = false;       // the last write was refused for a reason that may pass; records are held
    std::string error;          // that write's error (while waiting)
    int64_t heldRecords = 0;    // records in memory, not yet stored
    int64_t droppedRecords = 0; // records given up to bound that memory (gradients, weights, old masks)
};

// One line for a person: what recording waits for, or that it caught up, and what was shed.
std::string describeRecordingHealth(const RecordingHealth& health);

class Recorder : public TrainingObserver {
public:
    // maskSource returns the current masks (Trainer::maskSnapshot); called at start and after every
    // mask update. `next` also receives every event (e.g. the console), may be null.
    Recorder(const std::string& dbPath, int64_t runId, std::function<std::vector<LayerMaskSnapshot>()> maskSource,
             TrainingObserver* next = nullptr);
    ~Recorder() override;

    void onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) override;
    void onStep(const StepMetrics& m) override;
    void onDenseReference(const DenseReference& r) override; // passed on; the summary carries it
    void onMaskUpdate(const MaskUpdateEvent& e) override;
    void onEvaluation(const EvalMetrics& m) override;
    // Blocks until the writer has committed everything queued so far (or recording has failed).
    // Throws RunTakenOver once another process has claimed the run: the checkpoint is not written
    // (it would replace that process's), and the trainer stops with the message.
    void onBeforeCheckpoint(int64_t step) override;
    void onCheckpoint(int64_t step, const std::string& path) override;
    void onFinished(const TrainingSummary& s) override;

    // Writes everything queued and stops the writer; returns the first write error ("" if none).
    // Records still held because the database refuses writes are retried for up to the close grace
    // (30 s); after that, or after records were shed, the error says what was not stored.
    std::string close();
    // The first write error that will not pass by itself ("" while recording works or waits): the
    // database is not ours, the run was deleted, a record is malformed. After one, the recorder
    // keeps accepting callbacks (training goes on) but drops what it is given: the run's records
    // stop there, and what was stored before stays as it was.
    std::string error() const;
    RecordingHealth health() const;
    // Called on the writer thread when recording starts waiting, stops waiting (the held records
    // are stored) or sheds records. Set before training starts.
    void setHealthListener(std::function<void(const RecordingHealth&)> listener) {
        std::lock_guard<std::mutex> lock(mutex_); // the writer thread is already running
        healthListener_ = std::move(listener);
    }
    // How long close() keeps retrying held records, and how much memory they may take before the
    // heavy ones are shed (RecordBatch::shed). Set before training starts.
    void setCloseGrace(std::chrono::milliseconds grace) {
        std::lock_guard<std::mutex> lock(mutex_);
        closeGrace_ = grace;
    }
    void setHeldMemoryLimit(size_t bytes) {
        std::lock_guard<std::mutex> lock(mutex_);
        heldLimit_ = bytes;
    }
    // How often the writer stamps the run heard from when it had nothing else to write for that
    // long (a long evaluation, a slow step): another machine tells a live run from a gone one by
    // it (writer_stamp.hpp). Set before training starts.
    void setHeartbeatInterval(std::chrono::milliseconds interval) {
        std::lock_guard<std::mutex> lock(mutex_);
        heartbeat_ = interval;
    }
    // weightSource returns the dense weights of every layer (Trainer::weightSnapshots); with one,
    // each mask snapshot also records every layer's weight statistics and active weights (the
    // heavy part, selecting and encoding, runs on the writer thread), and each mask update that
    // grew by a gradient (RigL, SRigL: MaskUpdateEvent::gradients) the dense gradient of every
    // updated layer. Set before training starts.
    void setWeightSource(std::function<std::vector<LayerWeightSnapshot>()> weightSource) {
        weightSource_ = std::move(weightSource);
    }
    // The step training starts from (a resumed run's checkpoint step): the first mask snapshot is
    // recorded there instead of at step 0, which holds the run's initial masks.
    void setStartStep(int64_t step) { startStep_ = step; }

    // What recording cost: time spent in the callbacks on the training thread, and CPU time of the
    // writer thread (valid after close()).
    struct Cost {
        double callbackSeconds = 0.0;
        double writerCpuSeconds = 0.0;
    };
    Cost cost() const { return cost_; }

private:
    // Snapshots of the layers named in stats (the others did not change).
    void queueMasks(int64_t step, const std::vector<LayerUpdateStats>& stats,
                    const std::function<std::vector<LayerWeightSnapshot>()>& gradients = {});
    void writerLoop();

    std::string dbPath_;
    int64_t runId_;
    int64_t startStep_ = 0;
    std::function<std::vector<LayerMaskSnapshot>()> maskSource_;
    std::function<std::vector<LayerWeightSnapshot>()> weightSource_;
    TrainingObserver* next_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<Metric> metrics_;
    std::vector<MaskRecord> masks_;
    // Every layer's weights and current mask at one step, turned into records by the writer, and
    // the dense gradients the update at that step grew by (none for other methods and at start).
    struct WeightJob {
        int64_t step = 0;
        std::vector<LayerWeightSnapshot> weights;
        std::vector<LayerMaskSnapshot> masks;
        std::vector<LayerWeightSnapshot> gradients;
    };
    // Takes everything queued (call with mutex_ held) as records; the weight statistics and active
    // weights are computed later, off the lock (finishBatch).
    RecordBatch takeQueued(std::vector<WeightJob>& jobs);
    static void finishBatch(RecordBatch& batch, std::vector<WeightJob>& jobs);
    std::vector<WeightJob> weightJobs_;
    std::vector<std::pair<int64_t, std::string>> checkpoints_;
    bool closing_ = false;
    // Flushes asked for and done: the writer commits a batch, then sets done to what was asked
    // when it took the batch.
    uint64_t flushAsked_ = 0, flushDone_ = 0;
    std::condition_variable flushed_;
    Cost cost_;
    std::string error_;
    bool takenOver_ = false; // error_ is a RunTakenOver
    RecordingHealth health_;
    std::function<void(const RecordingHealth&)> healthListener_;
    std::chrono::milliseconds closeGrace_{30000};
    size_t heldLimit_ = size_t(256) << 20;
    std::chrono::milliseconds heartbeat_{kHeartbeatMs};
    std::thread writer_;
};

} // namespace srigl::sessions
