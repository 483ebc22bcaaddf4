// SQLite schema, migrations and queries of the session store.
#include "sessions/run_store.hpp"

#include "sessions/mask_codec.hpp"
#include "sessions/weight_codec.hpp"
#include "sessions/writer_stamp.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace srigl::sessions {
namespace {

// Version 1. A later version appends its migration here; opening an older file applies the
// missing steps in one transaction.
const char* const kMigrations[] = {
    R"sql(
    CREATE TABLE runs(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK(status IN ('running','finished','failed','interrupted','stopped')),
        notes TEXT NOT NULL DEFAULT '',
        config TEXT NOT NULL,
        engine_version TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL DEFAULT '',
        pid INTEGER NOT NULL DEFAULT 0,
        device TEXT NOT NULL DEFAULT '',
        blas TEXT NOT NULL DEFAULT '',
        threads INTEGER NOT NULL DEFAULT 0,
        method TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        dataset TEXT NOT NULL DEFAULT '',
        sparsity REAL NOT NULL DEFAULT 0,
        steps INTEGER NOT NULL DEFAULT 0,
        test_accuracy REAL NOT NULL DEFAULT -1);
    CREATE INDEX runs_created ON runs(created_at);
    CREATE TABLE run_tags(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY(run_id, tag));
    CREATE TABLE metrics(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        key TEXT NOT NULL,
        value REAL);
    CREATE INDEX metrics_run ON metrics(run_id, key, step);
    CREATE TABLE masks(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        layer TEXT NOT NULL,
        out_features INTEGER NOT NULL,
        fan_in INTEGER NOT NULL,
        k INTEGER NOT NULL,
        active INTEGER NOT NULL,
        ablated INTEGER NOT NULL,
        pruned INTEGER NOT NULL,
        regrown INTEGER NOT NULL,
        sad INTEGER NOT NULL,
        sparsity REAL NOT NULL,
        ablated_ids BLOB NOT NULL,
        bits BLOB NOT NULL,
        bits_size INTEGER NOT NULL,
        PRIMARY KEY(run_id, layer, step));
    CREATE TABLE weight_stats(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        layer TEXT NOT NULL,
        mean REAL, std REAL, min REAL, max REAL,
        histogram BLOB);
    CREATE TABLE timings(
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        device TEXT NOT NULL,
        layer TEXT NOT NULL DEFAULT '',
        batch INTEGER NOT NULL,
        sparsity REAL NOT NULL,
        dense_us REAL, csr_us REAL, structured_us REAL, condensed_us REAL);
    CREATE TABLE checkpoints(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        path TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY(run_id, step));
    )sql",
    // Version 2: a timing row says what it measured (layer shape) and on what (CPU, BLAS, threads,
    // which condensed kernel), so numbers from different machines are never compared blindly.
    R"sql(
    ALTER TABLE timings ADD COLUMN in_features INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE timings ADD COLUMN out_features INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE timings ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE timings ADD COLUMN blas TEXT NOT NULL DEFAULT '';
    ALTER TABLE timings ADD COLUMN cpu TEXT NOT NULL DEFAULT '';
    ALTER TABLE timings ADD COLUMN kernel TEXT NOT NULL DEFAULT '';
    CREATE INDEX timings_run ON timings(run_id, created_at);
    )sql",
    // Version 3: weight statistics are written (one row per run, layer and step), and the active
    // weights of every layer at every mask snapshot, for heatmaps (float16 byte planes, zstd).
    R"sql(
    CREATE UNIQUE INDEX weight_stats_key ON weight_stats(run_id, layer, step);
    CREATE TABLE weights(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        layer TEXT NOT NULL,
        count INTEGER NOT NULL,
        encoding TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY(run_id, layer, step));
    )sql",
    // Version 4: sweeps (srigl sweep): a grid over config keys, and one row per grid point linking
    // it to its run, so an interrupted sweep resumes where it stopped.
    R"sql(
    CREATE TABLE sweeps(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK(status IN ('running','finished','failed','interrupted','stopped')),
        base_config TEXT NOT NULL,
        grid TEXT NOT NULL,
        host TEXT NOT NULL DEFAULT '',
        pid INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE sweep_runs(
        sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
        point INTEGER NOT NULL,
        assignment TEXT NOT NULL,
        config TEXT NOT NULL,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK(status IN ('pending','running','finished','failed','interrupted','stopped')),
        PRIMARY KEY(sweep_id, point));
    CREATE INDEX sweep_runs_run ON sweep_runs(run_id);
    )sql",
    // Version 5: the dense gradient of each layer at every RigL / SRigL mask update (what growth
    // used), for the inspector's hover: float16 byte planes of values / scale, zstd.
    R"sql(
    CREATE TABLE gradients(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        layer TEXT NOT NULL,
        out_features INTEGER NOT NULL,
        fan_in INTEGER NOT NULL,
        scale REAL NOT NULL,
        encoding TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY(run_id, layer, step));
    )sql",
};
constexpr int kMigrationCount = sizeof(kMigrations) / sizeof(kMigrations[0]);
static_assert(kMigrationCount == RunStore::kSchemaVersion, "one migration per schema version");

const char* const kWeightEncoding = "f16-planes-zstd";

// Every row through one prepared INSERT, all of them or none (one transaction).
template <typename Row, typename Bind>
void insertAll(SqliteDb& db, const char* sql, const std::vector<Row>& rows, Bind bind) {
    if (rows.empty()) return;
    Transaction tx(db);
    Statement st(db, sql);
    for (const Row& row : rows) {
        bind(st, row);
        st.run();
    }
    tx.commit();
}

// The rows of one run in a per-layer table: of one layer ("" every layer) and one step (< 0
// every step), in step then record order, each made by `read` from the selected `columns`.
template <typename Read>
auto readLayerRows(SqliteDb& db, const std::string& columns, const char* table, int64_t id, const std::string& layer,
                   int64_t step, Read read) {
    const std::string sql = "SELECT " + columns + " FROM " + table +
                            " WHERE run_id = ?1 AND (?2 = '' OR layer = ?2) AND (?3 < 0 OR step = ?3)"
                            " ORDER BY step, rowid";
    Statement st(db, sql.c_str());
    st.bind(1, id).bind(2, layer).bind(3, step);
    std::vector<decltype(read(st))> out;
    while (st.step()) out.push_back(read(st));
    return out;
}

// A stored float16 block (weights, gradients) read back: the encoding in column `encodingColumn`,
// the bytes in the next one. StoreError names `what` for an encoding this build cannot read.
std::vector<float> readStoredValues(const SqliteDb& db, const Statement& st, int encodingColumn, size_t count,
                                    const std::string& what) {
    const std::string encoding = st.columnText(encodingColumn);
    if (encoding != kWeightEncoding)
        throw StoreError(db.path() + ": " + what + " use encoding '" + encoding + "', which this build cannot read");
    return decodeWeights(st.columnBlob(encodingColumn + 1), count);
}

const char* kRunColumns =
    "id, name, created_at, finished_at, status, notes, config, engine_version, host, pid, device, blas, threads, "
    "method, model, dataset, sparsity, steps, test_accuracy";

} // namespace

const char* migrationSql(int version) {
    if (version < 1 || version > kMigrationCount) return nullptr;
    return kMigrations[version - 1];
}

std::string toString(RunStatus status) {
    switch (status) {
    case RunStatus::Running: return "running";
    case RunStatus::Finished: return "finished";
    case RunStatus::Failed: return "failed";
    case RunStatus::Interrupted: return "interrupted";
    case RunStatus::Stopped: return "stopped";
    }
    return "failed";
}

RunStatus parseRunStatus(const std::string& t) {
    if (t == "running") return RunStatus::Running;
    if (t == "finished") return RunStatus::Finished;
    if (t == "failed") return RunStatus::Failed;
    if (t == "interrupted") return RunStatus::Interrupted;
    if (t == "stopped") return RunStatus::Stopped;
    throw StoreError("unknown run status '" + t + "'");
}

std::string defaultCheckpointPath(const std::string& dbPath, int64_t runId) {
    const auto dir = std::filesystem::path(dbPath).parent_path() / "checkpoints";
    std::filesystem::create_directories(dir);
    return (dir / ("run-" + std::to_string(runId) + ".ckpt")).string();
}

std::string defaultDatabasePath() {
    if (const char* env = std::getenv("SRIGL_DB"); env && *env) return env;
    std::string base;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) base = xdg;
    else if (const char* home = std::getenv("HOME"); home && *home) base = std::string(home) + "/.local/share";
    else base = ".";
    return base + "/srigl-studio/runs.db";
}

RunStore::RunStore(const std::string& path, Mode mode) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    if (!exists && mode == Mode::ReadOnly) throw StoreError(path + ": no such database");
    if (!exists) {
        const auto dir = fs::path(path).parent_path();
        if (!dir.empty()) fs::create_directories(dir, ec);
    }
    db_ = std::make_unique<SqliteDb>(path, mode == Mode::ReadOnly, !exists);
    // Reading the schema is the first real access: a non-SQLite file fails here, untouched.
    Statement tables(*db_, "SELECT count(*) FROM sqlite_master");
    tables.step();
    const int64_t tableCount = tables.columnInt(0);
    tables.reset();
    int version = 0;
    {
        Statement v(*db_, "PRAGMA user_version");
        v.step();
        version = static_cast<int>(v.columnInt(0));
    }
    if (version > kSchemaVersion)
        throw StoreError(path + ": written by a newer SRigL Studio (schema " + std::to_string(version) +
                         ", this build reads up to " + std::to_string(kSchemaVersion) + "); upgrade to open it");
    if (version == 0 && tableCount > 0)
        throw StoreError(path + ": an SQLite database, but not a SRigL Studio one; refusing to change it");
    if (mode == Mode::ReadWrite) {
        // Switching to WAL needs a moment of exclusive access; the busy handler does not cover it,
        // so retry while another process holds the file.
        for (int attempt = 0;; ++attempt) {
            if (sqlite3_exec(db_->handle(), "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) == SQLITE_OK) break;
            if ((sqlite3_errcode(db_->handle()) & 0xff) != SQLITE_BUSY || attempt >= 100)
                db_->fail("cannot switch to WAL mode");
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        db_->exec("PRAGMA synchronous=NORMAL");
    }
    db_->exec("PRAGMA foreign_keys=ON");
    if (version < kSchemaVersion) {
        if (mode == Mode::ReadOnly)
            throw StoreError(path + ": schema " + std::to_string(version) + " needs a migration; open it read-write once");
        Transaction tx(*db_);
        // Another process may have migrated between our first look and the write lock.
        Statement again(*db_, "PRAGMA user_version");
        again.step();
        const int current = static_cast<int>(again.columnInt(0));
        again.reset();
        for (int v = current; v < kSchemaVersion; ++v) db_->exec(kMigrations[v]);
        if (current < kSchemaVersion) db_->exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
        tx.commit();
    }
}

int RunStore::schemaVersion() {
    Statement v(*db_, "PRAGMA user_version");
    v.step();
    return static_cast<int>(v.columnInt(0));
}

int64_t RunStore::createRun(const NewRun& r) {
    Statement st(*db_,
                 "INSERT INTO runs(name, created_at, status, config, engine_version, host, pid, device, blas, threads, "
                 "method, model, dataset, sparsity) VALUES(?,?,'running',?,?,?,?,?,?,?,?,?,?,?)");
    st.bind(1, r.name).bind(2, nowMs()).bind(3, r.config).bind(4, r.engineVersion).bind(5, r.host.empty() ? hostName() : r.host);
    st.bind(6, currentPid()).bind(7, r.device).bind(8, r.blas).bind(9, r.threads);
    st.bind(10, r.method).bind(11, r.model).bind(12, r.dataset).bind(13, r.sparsity);
    st.run();
    return db_->lastInsertId();
}

void RunStore::finishRun(int64_t id, RunStatus status, int64_t steps, double testAccuracy) {
    requireRun(id);
    Statement st(*db_, "UPDATE runs SET status=?, finished_at=?, steps=?, test_accuracy=? WHERE id=?");
    st.bind(1, toString(status)).bind(2, nowMs()).bind(3, steps).bind(4, testAccuracy).bind(5, id);
    st.run();
}

void RunStore::reopenRun(int64_t id, int64_t fromStep) {
    requireRun(id);
    Transaction tx(*db_);
    Statement st(*db_, "UPDATE runs SET status='running', finished_at=0, pid=?, host=? WHERE id=?");
    st.bind(1, currentPid()).bind(2, hostName()).bind(3, id);
    st.run();
    for (const char* sql : {"DELETE FROM metrics WHERE run_id=? AND step>?", "DELETE FROM masks WHERE run_id=? AND step>?",
                            "DELETE FROM checkpoints WHERE run_id=? AND step>?",
                            "DELETE FROM weight_stats WHERE run_id=? AND step>?",
                            "DELETE FROM weights WHERE run_id=? AND step>?",
                            "DELETE FROM gradients WHERE run_id=? AND step>?"}) {
        Statement del(*db_, sql);
        del.bind(1, id).bind(2, fromStep);
        del.run();
    }
    tx.commit();
}

void RunStore::updateProgress(int64_t id, int64_t steps) {
    Statement st(*db_, "UPDATE runs SET steps = ? WHERE id = ? AND steps < ?");
    st.bind(1, steps).bind(2, id).bind(3, steps);
    st.run();
}

void RunStore::addMetrics(int64_t id, const std::vector<Metric>& metrics) {
    insertAll(*db_, "INSERT INTO metrics(run_id, step, key, value) VALUES(?,?,?,?)", metrics,
              [&](Statement& st, const Metric& m) {
                  st.bind(1, id).bind(2, m.step).bind(3, m.key).bindDoubleOrNull(4, m.value); // a diverged loss is NaN
              });
}

void RunStore::addMasks(int64_t id, const std::vector<MaskRecord>& masks) {
    insertAll(*db_,
              "INSERT OR REPLACE INTO masks(run_id, step, layer, out_features, fan_in, k, active, ablated, pruned, "
              "regrown, sad, sparsity, ablated_ids, bits, bits_size) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
              masks, [&](Statement& st, const MaskRecord& m) {
                  st.bind(1, id).bind(2, m.step).bind(3, m.mask.name).bind(4, m.mask.outFeatures).bind(5, m.mask.fanIn);
                  st.bind(6, m.stats.k).bind(7, m.stats.active).bind(8, m.stats.ablated).bind(9, m.stats.pruned);
                  st.bind(10, m.stats.regrown).bind(11, m.stats.sad).bind(12, m.stats.sparsity);
                  st.bindBlob(13, encodeIds(m.mask.ablated)).bindBlob(14, compressBytes(m.mask.bits));
                  st.bind(15, static_cast<int64_t>(m.mask.bits.size()));
              });
}

void RunStore::addWeightStats(int64_t id, const std::vector<WeightStatsRecord>& rows) {
    insertAll(*db_,
              "INSERT OR REPLACE INTO weight_stats(run_id, step, layer, mean, std, min, max, histogram) "
              "VALUES(?,?,?,?,?,?,?,?)",
              rows, [&](Statement& st, const WeightStatsRecord& r) {
                  st.bind(1, id).bind(2, r.step).bind(3, r.stats.name).bind(4, r.stats.mean).bind(5, r.stats.std);
                  st.bind(6, r.stats.min).bind(7, r.stats.max).bindBlob(8, encodeCounts(r.stats.histogram));
              });
}

std::vector<WeightStatsRecord> RunStore::weightStats(int64_t id, const std::string& layer) {
    requireRun(id);
    return readLayerRows(*db_, "step, layer, mean, std, min, max, histogram", "weight_stats", id, layer, -1,
                         [](const Statement& st) {
                             WeightStatsRecord r;
                             r.step = st.columnInt(0);
                             r.stats.name = st.columnText(1);
                             r.stats.mean = st.columnDouble(2);
                             r.stats.std = st.columnDouble(3);
                             r.stats.min = st.columnDouble(4);
                             r.stats.max = st.columnDouble(5);
                             r.stats.histogram = decodeCounts(st.columnBlob(6));
                             for (int64_t c : r.stats.histogram) r.stats.count += c;
                             return r;
                         });
}

void RunStore::addWeightValues(int64_t id, const std::vector<WeightValuesRecord>& rows) {
    insertAll(*db_, "INSERT OR REPLACE INTO weights(run_id, step, layer, count, encoding, data) VALUES(?,?,?,?,?,?)",
              rows, [&](Statement& st, const WeightValuesRecord& r) {
                  st.bind(1, id).bind(2, r.step).bind(3, r.layer).bind(4, static_cast<int64_t>(r.values.size()));
                  st.bind(5, std::string(kWeightEncoding)).bindBlob(6, encodeWeights(r.values));
              });
}

std::vector<WeightValuesRecord> RunStore::weightValues(int64_t id, const std::string& layer, int64_t step) {
    requireRun(id);
    return readLayerRows(*db_, "step, layer, count, encoding, data", "weights", id, layer, step,
                         [&](const Statement& st) {
                             WeightValuesRecord r;
                             r.step = st.columnInt(0);
                             r.layer = st.columnText(1);
                             const auto count = static_cast<size_t>(st.columnInt(2));
                             r.values = readStoredValues(*db_, st, 3, count, "weights of " + r.layer);
                             return r;
                         });
}

void RunStore::addGradients(int64_t id, const std::vector<GradientRecord>& rows) {
    const char* sql = "INSERT OR REPLACE INTO gradients(run_id, step, layer, out_features, fan_in, scale, encoding, "
                      "data) VALUES(?,?,?,?,?,?,?,?)";
    insertAll(*db_, sql, rows, [&](Statement& st, const GradientRecord& r) {
        if (r.outFeatures <= 0 || r.fanIn <= 0 || static_cast<int64_t>(r.values.size()) != r.outFeatures * r.fanIn)
            throw StoreError("gradient of " + r.layer + " at step " + std::to_string(r.step) + ": " +
                             std::to_string(r.values.size()) + " values for a " + std::to_string(r.outFeatures) + " x " +
                             std::to_string(r.fanIn) + " layer");
        float largest = 0.0f;
        for (float v : r.values)
            if (std::isfinite(v)) largest = std::max(largest, std::fabs(v));
        const double scale = largest > 0.0f ? largest : 1.0;
        std::vector<float> scaled(r.values.size());
        for (size_t i = 0; i < scaled.size(); ++i) scaled[i] = static_cast<float>(r.values[i] / scale);
        st.bind(1, id).bind(2, r.step).bind(3, r.layer).bind(4, r.outFeatures).bind(5, r.fanIn).bind(6, scale);
        st.bind(7, std::string(kWeightEncoding)).bindBlob(8, encodeWeights(scaled));
    });
}

std::vector<GradientRecord> RunStore::gradientValues(int64_t id, const std::string& layer, int64_t step) {
    requireRun(id);
    return readLayerRows(
        *db_, "step, layer, out_features, fan_in, scale, encoding, data", "gradients", id, layer, step,
        [&](const Statement& st) {
            GradientRecord r;
            r.step = st.columnInt(0);
            r.layer = st.columnText(1);
            r.outFeatures = st.columnInt(2);
            r.fanIn = st.columnInt(3);
            const double scale = st.columnDouble(4);
            const auto count = static_cast<size_t>(r.outFeatures * r.fanIn);
            r.values = readStoredValues(*db_, st, 5, count, "gradients of " + r.layer);
            for (float& v : r.values) v = static_cast<float>(v * scale);
            return r;
        });
}

void RunStore::addCheckpoint(int64_t id, int64_t step, const std::string& path) {
    Statement st(*db_, "INSERT OR REPLACE INTO checkpoints(run_id, step, path, created_at) VALUES(?,?,?,?)");
    st.bind(1, id).bind(2, step).bind(3, path).bind(4, nowMs());
    st.run();
}

void RunStore::addTimings(const std::vector<TimingRecord>& rows) {
    const int64_t now = nowMs();
    insertAll(*db_,
              "INSERT INTO timings(run_id, created_at, device, layer, batch, sparsity, dense_us, csr_us, structured_us, "
              "condensed_us, in_features, out_features, threads, blas, cpu, kernel) "
              "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
              rows, [&](Statement& st, const TimingRecord& t) {
                  if (t.runId > 0) st.bind(1, t.runId);
                  else st.bindNull(1);
                  st.bind(2, t.createdAt > 0 ? t.createdAt : now).bind(3, t.device).bind(4, t.layer).bind(5, t.batch);
                  st.bind(6, t.sparsity);
                  // A variant that could not run here (CSR on some builds) is NaN.
                  st.bindDoubleOrNull(7, t.denseUs).bindDoubleOrNull(8, t.csrUs).bindDoubleOrNull(9, t.structuredUs);
                  st.bindDoubleOrNull(10, t.condensedUs);
                  st.bind(11, t.inFeatures).bind(12, t.outFeatures).bind(13, t.threads).bind(14, t.blas).bind(15, t.cpu);
                  st.bind(16, t.kernel);
              });
}

std::vector<TimingRecord> RunStore::timings(int64_t runId) {
    std::string sql =
        "SELECT run_id, created_at, device, layer, batch, sparsity, dense_us, csr_us, structured_us, condensed_us, "
        "in_features, out_features, threads, blas, cpu, kernel FROM timings";
    if (runId > 0) sql += " WHERE run_id = ?";
    sql += " ORDER BY id";
    Statement st(*db_, sql.c_str());
    if (runId > 0) st.bind(1, runId);
    std::vector<TimingRecord> out;
    while (st.step()) {
        TimingRecord t;
        t.runId = st.columnIsNull(0) ? 0 : st.columnInt(0);
        t.createdAt = st.columnInt(1);
        t.device = st.columnText(2);
        t.layer = st.columnText(3);
        t.batch = st.columnInt(4);
        t.sparsity = st.columnDouble(5);
        t.denseUs = st.columnDoubleOrNaN(6);
        t.csrUs = st.columnDoubleOrNaN(7);
        t.structuredUs = st.columnDoubleOrNaN(8);
        t.condensedUs = st.columnDoubleOrNaN(9);
        t.inFeatures = st.columnInt(10);
        t.outFeatures = st.columnInt(11);
        t.threads = st.columnInt(12);
        t.blas = st.columnText(13);
        t.cpu = st.columnText(14);
        t.kernel = st.columnText(15);
        out.push_back(std::move(t));
    }
    return out;
}

RunInfo RunStore::readRun(Statement& st) {
    RunInfo r;
    r.id = st.columnInt(0);
    r.name = st.columnText(1);
    r.createdAt = st.columnInt(2);
    r.finishedAt = st.columnInt(3);
    r.status = parseRunStatus(st.columnText(4));
    r.notes = st.columnText(5);
    r.config = st.columnText(6);
    r.engineVersion = st.columnText(7);
    r.host = st.columnText(8);
    r.pid = st.columnInt(9);
    r.device = st.columnText(10);
    r.blas = st.columnText(11);
    r.threads = st.columnInt(12);
    r.method = st.columnText(13);
    r.model = st.columnText(14);
    r.dataset = st.columnText(15);
    r.sparsity = st.columnDouble(16);
    r.steps = st.columnInt(17);
    r.testAccuracy = st.columnDouble(18);
    return r;
}

std::vector<RunInfo> RunStore::listRuns(const RunFilter& f) {
    // Every condition is a bound parameter; an empty one matches everything.
    const std::string sql =
        std::string("SELECT ") + kRunColumns +
        " FROM runs WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR method = ?2)"
        " AND (?3 = '' OR id IN (SELECT run_id FROM run_tags WHERE tag = ?3))"
        " AND (?4 = '' OR instr(name, ?4) > 0 OR instr(notes, ?4) > 0 OR instr(config, ?4) > 0)"
        " AND (?5 = 0 OR id IN (SELECT run_id FROM sweep_runs WHERE sweep_id = ?5))"
        " ORDER BY id";
    Statement st(*db_, sql.c_str());
    st.bind(1, f.status).bind(2, f.method).bind(3, f.tag).bind(4, f.text).bind(5, f.sweep);
    std::vector<RunInfo> out;
    while (st.step()) out.push_back(readRun(st));
    Statement tags(*db_, "SELECT run_id, tag FROM run_tags ORDER BY run_id, tag");
    size_t i = 0;
    while (tags.step()) {
        const int64_t id = tags.columnInt(0);
        while (i < out.size() && out[i].id < id) ++i;
        if (i < out.size() && out[i].id == id) out[i].tags.push_back(tags.columnText(1));
    }
    return out;
}

RunInfo RunStore::run(int64_t id) {
    const std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?";
    Statement st(*db_, sql.c_str());
    st.bind(1, id);
    if (!st.step()) throw StoreError(db_->path() + ": no run with id " + std::to_string(id));
    RunInfo r = readRun(st);
    Statement tags(*db_, "SELECT tag FROM run_tags WHERE run_id = ? ORDER BY tag");
    tags.bind(1, id);
    while (tags.step()) r.tags.push_back(tags.columnText(0));
    return r;
}

void RunStore::requireRun(int64_t id) {
    Statement st(*db_, "SELECT 1 FROM runs WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw StoreError(db_->path() + ": no run with id " + std::to_string(id));
}

std::vector<Metric> RunStore::metrics(int64_t id) {
    requireRun(id);
    Statement st(*db_, "SELECT step, key, value FROM metrics WHERE run_id = ? ORDER BY key, step");
    st.bind(1, id);
    std::vector<Metric> out;
    while (st.step())
        out.push_back({st.columnInt(0), st.columnText(1),
                       st.columnDoubleOrNaN(2)});
    return out;
}

namespace {
// The columns readMaskRow reads, in its order.
const char* const kMaskColumns = "step, layer, out_features, fan_in, k, active, ablated, pruned, regrown, sad, sparsity, "
                                 "ablated_ids, bits, bits_size";

MaskRecord readMaskRow(const Statement& st) {
    MaskRecord m;
    m.step = st.columnInt(0);
    m.mask.name = m.stats.name = st.columnText(1);
    m.mask.outFeatures = m.stats.outFeatures = st.columnInt(2);
    m.mask.fanIn = m.stats.fanIn = st.columnInt(3);
    m.stats.k = st.columnInt(4);
    m.stats.active = st.columnInt(5);
    m.stats.ablated = st.columnInt(6);
    m.stats.pruned = st.columnInt(7);
    m.stats.regrown = st.columnInt(8);
    m.stats.sad = st.columnInt(9);
    m.stats.sparsity = st.columnDouble(10);
    m.mask.ablated = decodeIds(st.columnBlob(11));
    m.mask.bits = decompressBytes(st.columnBlob(12), static_cast<size_t>(st.columnInt(13)));
    return m;
}
} // namespace

std::vector<MaskRecord> RunStore::masks(int64_t id, const std::string& layer) {
    requireRun(id);
    return readLayerRows(*db_, kMaskColumns, "masks", id, layer, -1, readMaskRow);
}

std::vector<MaskRecord> RunStore::masksAtOrBefore(int64_t id, const std::string& layer, int64_t step, int count) {
    const std::string sql = std::string("SELECT ") + kMaskColumns +
                            " FROM masks WHERE run_id = ? AND layer = ? AND step <= ? ORDER BY step DESC LIMIT ?";
    Statement st(*db_, sql.c_str());
    st.bind(1, id).bind(2, layer).bind(3, step).bind(4, static_cast<int64_t>(count));
    std::vector<MaskRecord> out;
    while (st.step()) out.push_back(readMaskRow(st));
    return out;
}

std::vector<int64_t> RunStore::maskSteps(int64_t id) {
    Statement st(*db_, "SELECT DISTINCT step FROM masks WHERE run_id = ? ORDER BY step");
    st.bind(1, id);
    std::vector<int64_t> steps;
    while (st.step()) steps.push_back(st.columnInt(0));
    return steps;
}

std::vector<std::string> RunStore::maskLayers(int64_t id) {
    Statement st(*db_,
                 "SELECT layer FROM masks WHERE run_id = ?1 AND step = (SELECT MIN(step) FROM masks WHERE run_id = ?1) "
                 "ORDER BY rowid");
    st.bind(1, id);
    std::vector<std::string> layers;
    while (st.step()) layers.push_back(st.columnText(0));
    return layers;
}

std::optional<std::pair<int64_t, std::string>> RunStore::lastCheckpoint(int64_t id) {
    Statement st(*db_, "SELECT step, path FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return std::make_pair(st.columnInt(0), st.columnText(1));
}

void RunStore::addTag(int64_t id, const std::string& tag) {
    requireRun(id);
    Statement st(*db_, "INSERT OR IGNORE INTO run_tags(run_id, tag) VALUES(?,?)");
    st.bind(1, id).bind(2, tag);
    st.run();
}

void RunStore::setTags(int64_t id, const std::vector<std::string>& tags) {
    requireRun(id);
    Transaction tx(*db_);
    Statement clear(*db_, "DELETE FROM run_tags WHERE run_id = ?");
    clear.bind(1, id);
    clear.run();
    Statement add(*db_, "INSERT OR IGNORE INTO run_tags(run_id, tag) VALUES(?,?)");
    for (const auto& tag : tags) {
        add.bind(1, id).bind(2, tag);
        add.run();
    }
    tx.commit();
}

void RunStore::setNotes(int64_t id, const std::string& notes) {
    requireRun(id);
    Statement st(*db_, "UPDATE runs SET notes = ? WHERE id = ?");
    st.bind(1, notes).bind(2, id);
    st.run();
}

void RunStore::deleteRun(int64_t id) {
    requireRun(id);
    Statement st(*db_, "DELETE FROM runs WHERE id = ?");
    st.bind(1, id);
    st.run();
}

int RunStore::markInterrupted() {
    const std::vector<int64_t> gone = goneWriters(*db_, "runs");
    for (int64_t id : gone) {
        Statement up(*db_, "UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running'");
        up.bind(1, id);
        up.run();
    }
    return static_cast<int>(gone.size());
}

bool RunStore::integrityOk() {
    Statement st(*db_, "PRAGMA integrity_check");
    return st.step() && st.columnText(0) == "ok";
}

} // namespace srigl::sessions
