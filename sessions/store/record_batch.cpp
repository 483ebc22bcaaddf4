// Appending, sizing, shedding and writing a batch of records.
#include "sessions/store/record_batch.hpp"

#include "sessions/store/sqlite_db.hpp"

#include <algorithm>
#include <map>

namespace srigl::sessions {
namespace {

template <typename T>
void moveAppend(std::vector<T>& to, std::vector<T>& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
    from.clear();
}

size_t maskBytes(const MaskRecord& m) {
    return m.mask.bits.size() + m.mask.ablated.size() * sizeof(int64_t) + m.stats.thresholds.size() * sizeof(float) +
           sizeof(MaskRecord);
}

} // namespace

bool RecordBatch::empty() const { return recordCount() == 0; }

int64_t RecordBatch::recordCount() const {
    return static_cast<int64_t>(metrics.size() + masks.size() + weightStats.size() + weightValues.size() +
                                gradients.size() + checkpoints.size());
}

size_t RecordBatch::bytes() const {
    size_t total = metrics.size() * (sizeof(Metric) + 24) + weightStats.size() * 1024;
    for (const auto& m : masks) total += maskBytes(m);
    for (const auto& w : weightValues) total += w.values.size() * sizeof(float) + sizeof(w);
    for (const auto& g : gradients) total += g.values.size() * sizeof(float) + sizeof(g);
    for (const auto& c : checkpoints) total += c.second.size() + sizeof(c);
    return total;
}

std::pair<int64_t, int64_t> RecordBatch::stepRange() const {
    bool any = false;
    int64_t lo = 0, hi = 0;
    const auto see = [&](int64_t step) {
        lo = any ? std::min(lo, step) : step;
        hi = any ? std::max(hi, step) : step;
        any = true;
    };
    for (const auto& r : metrics) see(r.step);
    for (const auto& r : masks) see(r.step);
    for (const auto& r : weightStats) see(r.step);
    for (const auto& r : weightValues) see(r.step);
    for (const auto& r : gradients) see(r.step);
    for (const auto& r : checkpoints) see(r.first);
    return {lo, hi};
}

void RecordBatch::append(RecordBatch&& later) {
    moveAppend(metrics, later.metrics);
    moveAppend(masks, later.masks);
    moveAppend(weightStats, later.weightStats);
    moveAppend(weightValues, later.weightValues);
    moveAppend(gradients, later.gradients);
    moveAppend(checkpoints, later.checkpoints);
}

int64_t RecordBatch::shed(size_t limit) {
    size_t held = bytes();
    if (held <= limit) return 0;
    int64_t dropped = 0;
    const auto dropAll = [&](auto& records) {
        for (const auto& r : records) held -= std::min(held, r.values.size() * sizeof(float) + sizeof(r));
        dropped += static_cast<int64_t>(records.size());
        records.clear();
    };
    dropAll(gradients);
    if (held > limit) dropAll(weightValues);
    if (held <= limit) return dropped;
    // Masks are appended in step order: the last one of each layer is its newest.
    std::map<std::string, size_t> newest;
    for (size_t i = 0; i < masks.size(); ++i) newest[masks[i].mask.name] = i;
    std::vector<MaskRecord> kept;
    for (size_t i = 0; i < masks.size(); ++i) {
        if (held > limit && newest[masks[i].mask.name] != i) {
            held -= std::min(held, maskBytes(masks[i]));
            ++dropped;
        } else {
            kept.push_back(std::move(masks[i]));
        }
    }
    masks = std::move(kept);
    return dropped;
}

void RecordBatch::writeTo(RunStore& store, int64_t runId) const {
    Transaction tx(store.database()); // the store's writes below join it
    store.heartbeat(runId);             // claim checked in the same transaction: a release and resume elsewhere win
    store.addMetrics(runId, metrics);
    int64_t lastStep = 0;
    for (const auto& m : metrics) lastStep = std::max(lastStep, m.step);
    if (lastStep > 0) store.updateProgress(runId, lastStep);
    store.addMasks(runId, masks);
    store.addWeightStats(runId, weightStats);
    store.addWeightValues(runId, weightValues);
    store.addGradients(runId, gradients);
    for (const auto& c : checkpoints) store.addCheckpoint(runId, c.first, c.second);
    tx.commit();
}

} // namespace srigl::sessions
