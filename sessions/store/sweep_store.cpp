// SQL of the sweeps and sweep_runs tables (schema version 4).
#include "sessions/store/sweep_store.hpp"

#include "sessions/store/writer_stamp.hpp"

namespace srigl::sessions {
namespace {

const char* kSweepColumns =
    "id, name, created_at, finished_at, status, base_config, grid, host, pid, "
    "(SELECT count(*) FROM sweep_runs WHERE sweep_id = sweeps.id), "
    "(SELECT count(*) FROM sweep_runs WHERE sweep_id = sweeps.id AND status IN ('finished','failed')), "
    // A sweep is heard from through its own updates and through the runs of its points.
    "max(sweeps.heard_at, coalesce((SELECT max(runs.heard_at) FROM sweep_runs JOIN runs ON runs.id = sweep_runs.run_id "
    "WHERE sweep_runs.sweep_id = sweeps.id), 0))";

} // namespace

std::string toString(PointStatus s) {
    switch (s) {
    case PointStatus::Pending: return "pending";
    case PointStatus::Running: return "running";
    case PointStatus::Finished: return "finished";
    case PointStatus::Failed: return "failed";
    case PointStatus::Interrupted: return "interrupted";
    case PointStatus::Stopped: return "stopped";
    }
    return "failed";
}

PointStatus parsePointStatus(const std::string& t) {
    for (auto s : {PointStatus::Pending, PointStatus::Running, PointStatus::Finished, PointStatus::Failed,
                   PointStatus::Interrupted, PointStatus::Stopped})
        if (toString(s) == t) return s;
    throw StoreError("unknown sweep point status '" + t + "'");
}

int64_t SweepStore::createSweep(const std::string& name, const std::string& baseConfig, const std::string& grid,
                                const std::vector<SweepPointRow>& points) {
    SqliteDb& db = store_.database();
    Transaction tx(db);
    Statement st(db, "INSERT INTO sweeps(name, created_at, status, base_config, grid, host, pid, heard_at) "
                     "VALUES(?,?,'running',?,?,?,?,?2)");
    st.bind(1, name).bind(2, nowMs()).bind(3, baseConfig).bind(4, grid).bind(5, hostName());
    st.bind(6, currentPid());
    st.run();
    const int64_t id = db.lastInsertId();
    Statement pt(db, "INSERT INTO sweep_runs(sweep_id, point, assignment, config, status) VALUES(?,?,?,?,'pending')");
    for (const auto& p : points) {
        pt.bind(1, id).bind(2, p.point).bind(3, p.assignment).bind(4, p.config);
        pt.run();
    }
    tx.commit();
    return id;
}

SweepInfo SweepStore::readSweep(Statement& st) {
    SweepInfo s;
    s.id = st.columnInt(0);
    s.name = st.columnText(1);
    s.createdAt = st.columnInt(2);
    s.finishedAt = st.columnInt(3);
    s.status = parseRunStatus(st.columnText(4));
    s.baseConfig = st.columnText(5);
    s.grid = st.columnText(6);
    s.host = st.columnText(7);
    s.pid = st.columnInt(8);
    s.points = st.columnInt(9);
    s.done = st.columnInt(10);
    s.heardAt = st.columnInt(11);
    // As for runs: a sweep whose process is gone reads as interrupted, without a write.
    if (s.status == RunStatus::Running && writerGone(s.host, s.pid)) s.status = RunStatus::Interrupted;
    return s;
}

SweepInfo SweepStore::sweep(int64_t id) {
    const std::string sql = std::string("SELECT ") + kSweepColumns + " FROM sweeps WHERE id = ?";
    Statement st(store_.database(), sql.c_str());
    st.bind(1, id);
    if (!st.step()) throw StoreError(store_.path() + ": no sweep with id " + std::to_string(id));
    return readSweep(st);
}

std::vector<SweepInfo> SweepStore::listSweeps() {
    const std::string sql = std::string("SELECT ") + kSweepColumns + " FROM sweeps ORDER BY id";
    Statement st(store_.database(), sql.c_str());
    std::vector<SweepInfo> out;
    while (st.step()) out.push_back(readSweep(st));
    return out;
}

std::vector<SweepPointRow> SweepStore::points(int64_t sweepId) {
    requireSweep(sweepId);
    Statement st(store_.database(),
                 "SELECT point, assignment, config, run_id, status FROM sweep_runs WHERE sweep_id = ? ORDER BY point");
    st.bind(1, sweepId);
    std::vector<SweepPointRow> out;
    while (st.step()) {
        SweepPointRow p;
        p.point = st.columnInt(0);
        p.assignment = st.columnText(1);
        p.config = st.columnText(2);
        p.runId = st.columnIsNull(3) ? 0 : st.columnInt(3);
        p.status = parsePointStatus(st.columnText(4));
        out.push_back(std::move(p));
    }
    return out;
}

void SweepStore::startPoint(int64_t sweepId, int64_t point, int64_t runId) {
    Statement st(store_.database(), "UPDATE sweep_runs SET run_id = ?, status = 'running' WHERE sweep_id = ? AND point = ?");
    st.bind(1, runId).bind(2, sweepId).bind(3, point);
    st.run();
    Statement heard(store_.database(), "UPDATE sweeps SET heard_at = ? WHERE id = ? AND host = ? AND pid = ?");
    heard.bind(1, nowMs()).bind(2, sweepId).bind(3, hostName()).bind(4, currentPid());
    heard.run();
}

void SweepStore::finishPoint(int64_t sweepId, int64_t point, PointStatus status) {
    // Only while this process runs the sweep: one that took it over keeps its points as it set them.
    Statement st(store_.database(), "UPDATE sweep_runs SET status = ? WHERE sweep_id = ? AND point = ? AND EXISTS "
                                    "(SELECT 1 FROM sweeps WHERE id = ? AND host = ? AND pid = ?)");
    st.bind(1, toString(status)).bind(2, sweepId).bind(3, point).bind(4, sweepId).bind(5, hostName()).bind(6, currentPid());
    st.run();
}

void SweepStore::finishSweep(int64_t id, RunStatus status) {
    requireSweep(id);
    Statement st(store_.database(), "UPDATE sweeps SET status = ?, finished_at = ? WHERE id = ? AND host = ? AND pid = ?");
    st.bind(1, toString(status)).bind(2, nowMs()).bind(3, id).bind(4, hostName()).bind(5, currentPid());
    st.run();
}

void SweepStore::requireClaim(int64_t id) {
    const SweepInfo info = sweep(id);
    if (info.host != hostName() || info.pid != currentPid())
        throw RunTakenOver(store_.path() + ": sweep " + std::to_string(id) + " was taken over by process " +
                           std::to_string(info.pid) + " on " + info.host +
                           " (srigl runs release --sweep, then a resume there); this process stops running it");
}

SweepInfo SweepStore::releaseSweep(int64_t id, bool force) {
    Transaction tx(store_.database());
    const SweepInfo info = sweep(id); // a sweep of a dead process of this machine reads as interrupted
    if (info.status != RunStatus::Running)
        throw StoreError(store_.path() + ": sweep " + std::to_string(id) + " is " + toString(info.status) +
                         ", not running: nothing to release" +
                         (info.status == RunStatus::Interrupted ? " (srigl sweep --resume continues it)" : ""));
    if (info.host == hostName())
        throw StoreError(store_.path() + ": sweep " + std::to_string(id) + " is being run by process " +
                         std::to_string(info.pid) + " on this machine, which is alive; stop it instead (Ctrl-C or kill " +
                         std::to_string(info.pid) + ")");
    requireQuietBeforeRelease(store_.path(), "sweep " + std::to_string(id), info.host, info.pid, info.heardAt, force);
    for (const SweepPointRow& row : points(id))
        if (row.status == PointStatus::Running && row.runId > 0) {
            const RunInfo run = store_.run(row.runId);
            // Quiet or forced with the sweep (the sweep's silence includes its runs').
            if (run.status == RunStatus::Running && run.host == info.host) store_.releaseRun(row.runId, true);
        }
    Statement st(store_.database(),
                 "UPDATE sweeps SET status = 'interrupted' WHERE id = ? AND status = 'running' AND host = ? AND pid = ?");
    st.bind(1, id).bind(2, info.host).bind(3, info.pid);
    st.run();
    Statement pt(store_.database(), "UPDATE sweep_runs SET status = 'interrupted' WHERE sweep_id = ? AND status = 'running'");
    pt.bind(1, id);
    pt.run();
    tx.commit();
    return info;
}

void SweepStore::reopenSweep(int64_t id) {
    Transaction tx(store_.database());
    const SweepInfo info = sweep(id); // reads a sweep of a dead process as interrupted
    if (info.status == RunStatus::Running && !(info.pid == currentPid() && info.host == hostName()))
        throw StoreError(store_.path() + ": sweep " + std::to_string(id) + " is being run by process " +
                         std::to_string(info.pid) + " on " + info.host + "; wait for it to end or stop it first" +
                         (info.host == hostName() ? std::string()
                                                  : "; if that machine's process is gone (a killed job, a failed node), "
                                                    "release the sweep first: srigl runs release --sweep " +
                                                        std::to_string(id)));
    Statement st(store_.database(),
                 "UPDATE sweeps SET status = 'running', finished_at = 0, pid = ?, host = ?, heard_at = ? WHERE id = ?");
    st.bind(1, currentPid()).bind(2, hostName()).bind(3, nowMs()).bind(4, id);
    st.run();
    tx.commit();
}

int SweepStore::markInterrupted() {
    const std::vector<int64_t> gone = goneWriters(store_.database(), "sweeps");
    for (int64_t id : gone) {
        Transaction tx(store_.database());
        Statement up(store_.database(), "UPDATE sweeps SET status = 'interrupted' WHERE id = ? AND status = 'running'");
        up.bind(1, id);
        up.run();
        Statement pt(store_.database(),
                     "UPDATE sweep_runs SET status = 'interrupted' WHERE sweep_id = ? AND status = 'running'");
        pt.bind(1, id);
        pt.run();
        tx.commit();
    }
    return static_cast<int>(gone.size());
}

void SweepStore::requireSweep(int64_t id) {
    Statement st(store_.database(), "SELECT 1 FROM sweeps WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw StoreError(store_.path() + ": no sweep with id " + std::to_string(id));
}

} // namespace srigl::sessions
