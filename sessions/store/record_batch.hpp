// The records the recorder writes in one transaction. While the database refuses writes for a
// while (another process holds its lock, the disk is full) the recorder keeps appending to the
// batch it could not write and tries again: a batch is stored whole or not at all, so a retry never
// stores a row twice, and it can shed its heavy parts when it holds too much memory.
#pragma once

#include "sessions/store/run_store.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace srigl::sessions {

struct RecordBatch {
    std::vector<Metric> metrics;
    std::vector<MaskRecord> masks;
    std::vector<WeightStatsRecord> weightStats;
    std::vector<WeightValuesRecord> weightValues;
    std::vector<GradientRecord> gradients;
    std::vector<std::pair<int64_t, std::string>> checkpoints; // step, file

    bool empty() const;
    int64_t recordCount() const;
    // About what the batch holds in memory (the payloads; containers' overhead aside).
    size_t bytes() const;
    // The lowest and highest step of any record; {0, 0} when empty.
    std::pair<int64_t, int64_t> stepRange() const;
    // Adds a later batch's records after this one's.
    void append(RecordBatch&& later);
    // Drops records until bytes() <= limit: first the gradient and active-weight snapshots (the
    // bulk; no curve or table needs them), then mask snapshots oldest first, keeping each layer's
    // newest one. Metrics, weight statistics and checkpoints are small
    // and always kept. Returns how many records were dropped.
    int64_t shed(size_t limit);
    // One transaction: every record, the run's progress (its highest metric step) and checkpoint
    // rows, or nothing (StoreError).
    void writeTo(RunStore& store, int64_t runId) const;
};

} // namespace srigl::sessions
