// The sweeps of the session store: a grid over config keys (srigl sweep) and its points, each
// linked to the run that trains it, so that an interrupted sweep resumes where it stopped. Keeps
// its tables in the RunStore's file and uses its connection.
#pragma once

#include "sessions/store/run_store.hpp"

#include <string>
#include <vector>

namespace srigl::sessions {

enum class PointStatus { Pending, Running, Finished, Failed, Interrupted, Stopped };
std::string toString(PointStatus status);
PointStatus parsePointStatus(const std::string& text);

struct SweepPointRow {
    int64_t point = 0;          // position in the grid's expansion order, from 0
    std::string assignment;     // "method=srigl sparsity=0.9 seed=1"
    std::string config;         // the point's full RunConfig JSON
    int64_t runId = 0;          // 0 until the point's run is created
    PointStatus status = PointStatus::Pending;
};

struct SweepInfo {
    int64_t id = 0;
    std::string name;
    int64_t createdAt = 0, finishedAt = 0; // unix milliseconds
    RunStatus status = RunStatus::Running;
    std::string baseConfig; // JSON
    std::string grid;       // JSON array of {"key": k, "values": [...]}
    std::string host;
    int64_t pid = 0;
    int64_t points = 0, done = 0; // done: finished or failed points
    int64_t heardAt = 0;          // unix ms of the newest write of the sweep or of its points' runs
};

class SweepStore {
public:
    explicit SweepStore(RunStore& store) : store_(store) {}

    // The sweep and all its points in one transaction, running, owned by this process.
    int64_t createSweep(const std::string& name, const std::string& baseConfig, const std::string& grid,
                        const std::vector<SweepPointRow>& points);
    SweepInfo sweep(int64_t id); // StoreError when there is no such sweep
    std::vector<SweepInfo> listSweeps();
    std::vector<SweepPointRow> points(int64_t sweepId);

    // The point's run exists now: the point is running it.
    void startPoint(int64_t sweepId, int64_t point, int64_t runId);
    void finishPoint(int64_t sweepId, int64_t point, PointStatus status);
    void finishSweep(int64_t id, RunStatus status);
    // Continued by this process (srigl sweep --resume), exclusively: StoreError while another live
    // process runs the sweep (checked and claimed in one write transaction).
    void reopenSweep(int64_t id);
    // Sweeps still marked running whose process (on this host) is gone become interrupted, with
    // their running point.
    int markInterrupted();
    // RunTakenOver unless this process runs the sweep: another claimed it since (a release, then a
    // resume elsewhere). The runner checks it before each point; finishPoint and finishSweep
    // change nothing then.
    void requireClaim(int64_t id);
    // As RunStore::releaseRun, for a sweep run by another machine: the sweep, its running points and
    // their runs become interrupted, so `srigl sweep --resume` may claim it; a recently heard sweep
    // only with `force`. Returns the sweep as it was.
    SweepInfo releaseSweep(int64_t id, bool force = false);

private:
    void requireSweep(int64_t id);
    SweepInfo readSweep(Statement& st);

    RunStore& store_;
};

} // namespace srigl::sessions
