// SQLite schema, migrations and queries of the session store.
#include "sessions/store/run_store.hpp"

#include "sessions/store/journal_mode.hpp"

#include "sessions/store/mask_codec.hpp"
#include "sessions/store/weight_codec.hpp"
#include "sessions/store/writer_stamp.hpp"

#include "engine/config/text_check.hpp"
#include "engine/training/checkpoint_file.hpp"

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
    // Version 6: a run's identity (a random uuid its checkpoints carry), the error a failed run
    // ended with, the highest run id ever handed out (ids of deleted runs are never reused), and
    // the configs a resumed run had before --set overrides changed them.
    R"sql(
    ALTER TABLE runs ADD COLUMN uuid TEXT NOT NULL DEFAULT '';
    UPDATE runs SET uuid = lower(hex(randomblob(16)));
    ALTER TABLE runs ADD COLUMN error TEXT NOT NULL DEFAULT '';
    CREATE TABLE run_ids(last INTEGER NOT NULL);
    INSERT INTO run_ids(last) SELECT coalesce(max(id), 0) FROM runs;
    CREATE TABLE config_history(
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        config TEXT NOT NULL,
        created_at INTEGER NOT NULL);
    CREATE INDEX config_history_run ON config_history(run_id, step);
    )sql",
    // Version 7: training-step timings (srigl bench --training) beside the inference ones: a row says
    // which it is, and training rows carry the masked-dense time as well.
    R"sql(
    ALTER TABLE timings ADD COLUMN kind TEXT NOT NULL DEFAULT 'inference';
    ALTER TABLE timings ADD COLUMN masked_us REAL;
    )sql",
    // Version 8: trainable_threshold's per-neuron thresholds beside each mask snapshot (float32,
    // little-endian; NULL for the methods without thresholds).
    R"sql(
    ALTER TABLE masks ADD COLUMN thresholds BLOB;
    )sql",
    // Version 9: status 'imported' (srigl import: masks of checkpoints trained elsewhere). SQLite
    // cannot change a CHECK in place, so the table is rebuilt (same columns, same order); the
    // store runs migrations before it turns foreign keys on, so dropping the old table cascades
    // into nothing.
    R"sql(
    CREATE TABLE runs_v9(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK(status IN ('running','finished','failed','interrupted','stopped','imported')),
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
        test_accuracy REAL NOT NULL DEFAULT -1,
        uuid TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '');
    INSERT INTO runs_v9 SELECT id, name, created_at, finished_at, status, notes, config, engine_version, host, pid,
        device, blas, threads, method, model, dataset, sparsity, steps, test_accuracy, uuid, error FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v9 RENAME TO runs;
    CREATE INDEX runs_created ON runs(created_at);
    )sql",
    // Version 10: when a run's (or sweep's) writer was last heard from, in unix milliseconds: its
    // every write stamps it. Another machine's process cannot be checked; a silent one may be
    // released (srigl runs release), a recently heard one only with --force. 0: never stamped.
    // And where a run merged from another database (srigl runs merge) came from: that database's
    // path and the run's id there ('' and 0 for a run recorded here).
    R"sql(
    ALTER TABLE runs ADD COLUMN heard_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sweeps ADD COLUMN heard_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN origin TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN origin_id INTEGER NOT NULL DEFAULT 0;
    )sql",
    // Version 11: a mask of a layer too large to snapshot whole holds every row_stride-th neuron
    // (LayerMaskSnapshot); out_features stays the layer's own count. 1: every neuron, as before.
    R"sql(
    ALTER TABLE masks ADD COLUMN row_stride INTEGER NOT NULL DEFAULT 1;
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
                   int64_t step, Read read, const char* alsoWhere = "") {
    const std::string sql = "SELECT " + columns + " FROM " + table +
                            " WHERE run_id = ?1 AND (?2 = '' OR layer = ?2) AND (?3 < 0 OR step = ?3)" + alsoWhere +
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
    "method, model, dataset, sparsity, steps, test_accuracy, uuid, error, heard_at, origin, origin_id";

// StoreError naming `field` when `text` is not UTF-8 (the store's JSON and the Studio read UTF-8).
void requireUtf8(const std::string& path, const std::string& field, const std::string& text) {
    if (!isValidUtf8(text))
        throw StoreError(path + ": " + field + " is not valid UTF-8 text ('" + quoteForMessage(text) +
                         "'); nothing was stored");
}

// A name or tag is one line of text that `runs list` prints as is: a control character in it (an
// escape sequence, a carriage return) would make the terminal act instead of show it.
void requireLabel(const std::string& path, const std::string& field, const std::string& text) {
    requireUtf8(path, field, text);
    if (!isOneLineText(text))
        throw StoreError(path + ": " + field + " '" + quoteForMessage(text) +
                         "' contains a control character; nothing was stored");
}

// A tag is a word to filter by: an empty one matches nothing and lists as a blank.
void requireTag(const std::string& path, const std::string& tag) {
    requireLabel(path, "tag", tag);
    if (tag.empty()) throw StoreError(path + ": a tag cannot be empty; nothing was stored");
}

int64_t singleInt(SqliteDb& db, const char* sql) {
    Statement st(db, sql);
    return st.step() ? st.columnInt(0) : 0;
}

// A file of schema 1-5 predates application_id: it is ours when it has our tables and run columns.
bool hasLegacySchema(SqliteDb& db) {
    return singleInt(db, "SELECT count(*) FROM pragma_table_info('runs') WHERE name IN "
                         "('config','status','pid','host','steps','test_accuracy','method')") == 7 &&
           singleInt(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
                         "('metrics','masks','checkpoints','run_tags')") == 4;
}

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
    case RunStatus::Imported: return "imported";
    }
    return "failed";
}

RunStatus parseRunStatus(const std::string& t) {
    if (t == "running") return RunStatus::Running;
    if (t == "finished") return RunStatus::Finished;
    if (t == "failed") return RunStatus::Failed;
    if (t == "interrupted") return RunStatus::Interrupted;
    if (t == "stopped") return RunStatus::Stopped;
    if (t == "imported") return RunStatus::Imported;
    throw StoreError("unknown run status '" + t + "'");
}

std::string locateCheckpoint(const std::string& dbPath, const std::string& stored) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path path(stored);
    if (stored.empty() || path.is_absolute() || fs::exists(path, ec)) return stored;
    const fs::path beside = fs::absolute(dbPath, ec).lexically_normal().parent_path() / "checkpoints" / path.filename();
    return fs::exists(beside, ec) ? beside.string() : stored;
}

std::string defaultCheckpointPath(const std::string& dbPath, int64_t runId, const std::string& runUuid) {
    // Absolute: the path is stored with the run, and a resume, an export or `runs delete` may run
    // from another working directory than the training did.
    const auto dir = std::filesystem::absolute(dbPath).lexically_normal().parent_path() / "checkpoints";
    std::filesystem::create_directories(dir);
    std::string name = "run-" + std::to_string(runId);
    if (!runUuid.empty()) name += "-" + runUuid.substr(0, 12);
    return (dir / (name + ".ckpt")).string();
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
    if (!exists && mode != Mode::ReadWrite) throw StoreError(path + ": no such database");
    if (exists && fs::is_directory(path, ec)) throw StoreError(path + ": is a folder, not a database file");
    // A device or a pipe (/dev/null, /dev/full, a FIFO) is no database: SQLite would open it and
    // then create its journal beside it (/dev/null-journal).
    if (exists && !fs::is_regular_file(path, ec))
        throw StoreError(path + ": is not a regular file (a device or a pipe), not a database file");
    if (!exists) {
        const auto dir = fs::path(path).parent_path();
        if (!dir.empty()) fs::create_directories(dir, ec);
    }
    const bool readOnly = mode == Mode::ReadOnly;
    db_ = std::make_unique<SqliteDb>(path, readOnly, !exists);
    // Look before touching anything: reading the header and the schema writes nothing, and a
    // non-SQLite file fails here, untouched.
    int64_t tableCount = 0;
    try {
        tableCount = singleInt(*db_, "SELECT count(*) FROM sqlite_master");
    } catch (const StoreError&) {
        // A WAL database on a read-only medium, or in another user's folder, cannot be read the
        // usual way: SQLite must create its -shm index beside it (SQLITE_READONLY_DIRECTORY and
        // kin). Without a -wal file holding commits, the file itself is the whole database and
        // can be read as it is. A -wal with content would be ignored that way: keep the error.
        const auto walSize = fs::file_size(path + "-wal", ec);
        if (!readOnly || (db_->errorCode() & 0xff) != SQLITE_READONLY || (!ec && walSize > 0)) throw;
        // Likewise a rollback journal (journal_mode.hpp) left by a killed writer: reading the file as
        // it is would show that writer's half-written pages. Only a writer can roll it back.
        const auto journalSize = fs::file_size(path + "-journal", ec);
        if (!ec && journalSize > 0)
            throw StoreError(path + ": a killed writer left an unfinished transaction (" + path +
                             "-journal), which a reader cannot roll back; open the database once to write (srigl "
                             "train --resume, srigl runs tag, or the Studio) and SQLite rolls it back");
        db_ = std::make_unique<SqliteDb>(path, true, false, true);
        tableCount = singleInt(*db_, "SELECT count(*) FROM sqlite_master");
    }
    const int version = static_cast<int>(singleInt(*db_, "PRAGMA user_version"));
    const auto applicationId = static_cast<int32_t>(singleInt(*db_, "PRAGMA application_id"));
    if (applicationId != 0 && applicationId != kApplicationId)
        throw StoreError(path + ": another application's SQLite database (application_id " +
                         std::to_string(applicationId) + "), not a SRigL Studio one; refusing to change it");
    if (version > kSchemaVersion)
        throw StoreError(path + ": written by a newer SRigL Studio (schema " + std::to_string(version) +
                         ", this build reads up to " + std::to_string(kSchemaVersion) + "); upgrade to open it");
    const bool fresh = applicationId == 0 && version == 0 && tableCount == 0;
    if (applicationId == 0 && !fresh && !(version >= 1 && version < kSchemaVersion && hasLegacySchema(*db_)))
        throw StoreError(path + ": an SQLite database, but not a SRigL Studio one (user_version " +
                         std::to_string(version) + ", no SRigL application_id); refusing to change it");
    if (!readOnly) setJournal(path);
    if (version < kSchemaVersion) {
        if (readOnly)
            throw StoreNeedsMigration(path + ": schema " + std::to_string(version) +
                                      " needs a migration; open it read-write once (any srigl train or runs tag)");
        Transaction tx(*db_);
        // Another process may have migrated between our first look and the write lock.
        const int current = static_cast<int>(singleInt(*db_, "PRAGMA user_version"));
        for (int v = current; v < kSchemaVersion; ++v) db_->exec(kMigrations[v]);
        if (current < kSchemaVersion) {
            db_->exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
            db_->exec(("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str());
        }
        tx.commit();
    }
    // After the migrations: version 9 rebuilds the runs table, whose DROP would otherwise cascade.
    db_->exec("PRAGMA foreign_keys=ON");
}

void RunStore::setJournal(const std::string& path) {
    std::string why;
    const JournalMode journal = journalModeFor(path, &why);
    const bool wal = journal == JournalMode::Wal;
    const std::string want = wal ? "wal" : "delete";
    const std::string pragma = "PRAGMA journal_mode=" + want;
    // Switching needs a moment of exclusive access; the busy handler does not cover it, so retry
    // while another process holds the file. Leaving WAL while another process still has the file
    // open does not fail: the pragma answers with the mode that stays, so that answer is checked.
    // (Where WAL itself cannot be had, a rollback journal is as safe: accepted, as it always was.)
    for (int attempt = 0;; ++attempt) {
        std::string mode;
        const int rc = sqlite3_exec(
            db_->handle(), pragma.c_str(),
            [](void* out, int n, char** values, char**) {
                if (n > 0 && values[0]) *static_cast<std::string*>(out) = values[0];
                return 0;
            },
            &mode, nullptr);
        if (rc == SQLITE_OK && (mode == want || wal)) break;
        const bool busy = rc == SQLITE_OK || (sqlite3_errcode(db_->handle()) & 0xff) == SQLITE_BUSY;
        if (!busy || attempt >= 100) {
            if (wal) db_->fail("cannot switch to WAL mode");
            throw StoreError(db_->path() + ": cannot switch to a rollback journal (" + why +
                             "; SQLite's WAL cannot be shared between machines): another process still has the "
                             "database open in WAL mode; close every program using it once, or set "
                             "SRIGL_DB_JOURNAL=wal if every process using it runs on this machine");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // WAL's NORMAL never corrupts on a power cut (it may lose the last commits); a rollback journal
    // needs FULL for that.
    db_->exec(wal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
}

int RunStore::schemaVersion() {
    Statement v(*db_, "PRAGMA user_version");
    v.step();
    return static_cast<int>(v.columnInt(0));
}

int64_t RunStore::createRun(const NewRun& r) {
    requireLabel(path(), "name", r.name);
    requireUtf8(path(), "config", r.config);
    Transaction tx(*db_);
    const int64_t id = reserveRunId();
    Statement st(*db_,
                 "INSERT INTO runs(id, name, created_at, status, config, engine_version, host, pid, device, blas, threads, "
                 "method, model, dataset, sparsity, heard_at, uuid) VALUES(?,?,?,'running',?,?,?,?,?,?,?,?,?,?,?,?3,"
                 "lower(hex(randomblob(16))))");
    st.bind(1, id).bind(2, r.name).bind(3, nowMs()).bind(4, r.config).bind(5, r.engineVersion);
    st.bind(6, r.host.empty() ? hostName() : r.host).bind(7, currentPid()).bind(8, r.device).bind(9, r.blas);
    st.bind(10, r.threads).bind(11, r.method).bind(12, r.model).bind(13, r.dataset).bind(14, r.sparsity);
    st.run();
    tx.commit();
    return id;
}

int64_t RunStore::reserveRunId() {
    Transaction tx(*db_); // joins the caller's
    // Above every id ever handed out: a deleted run's id stays retired.
    const int64_t id = std::max(singleInt(*db_, "SELECT coalesce(max(id), 0) FROM runs"),
                                singleInt(*db_, "SELECT coalesce(max(last), 0) FROM run_ids")) + 1;
    db_->exec("DELETE FROM run_ids");
    Statement last(*db_, "INSERT INTO run_ids(last) VALUES(?)");
    last.bind(1, id);
    last.run();
    tx.commit();
    return id;
}

void RunStore::finishRun(int64_t id, RunStatus status, int64_t steps, double testAccuracy, const std::string& error) {
    requireRun(id);
    Statement st(*db_, "UPDATE runs SET status=?, finished_at=?, steps=?, test_accuracy=?, error=? WHERE id=?");
    st.bind(1, toString(status)).bind(2, nowMs()).bind(3, steps).bind(4, testAccuracy);
    st.bind(5, isValidUtf8(error) ? error : quoteForMessage(error, 4096)).bind(6, id);
    st.run();
}

bool RunStore::isLive(const RunInfo& info) {
    // A run of another host cannot be checked: while it says running, it is taken as live.
    return info.status == RunStatus::Running && !writerGone(info.host, info.pid);
}

void RunStore::heartbeat(int64_t id) {
    Transaction tx(*db_); // joins the caller's, if any
    requireClaim(id);
    Statement st(*db_, "UPDATE runs SET heard_at = ? WHERE id = ?");
    st.bind(1, nowMs()).bind(2, id);
    st.run();
    tx.commit();
}

void RunStore::requireClaim(int64_t id) {
    Statement st(*db_, "SELECT host, pid FROM runs WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw StoreError(db_->path() + ": no run with id " + std::to_string(id));
    const std::string host = st.columnText(0);
    const int64_t pid = st.columnInt(1);
    if (host != hostName() || pid != currentPid())
        throw RunTakenOver(path() + ": run " + std::to_string(id) + " was taken over by process " +
                           std::to_string(pid) + " on " + host + " (srigl runs release, then a resume there); this "
                           "process stops recording it and writes no more checkpoints");
}

RunInfo RunStore::releaseRun(int64_t id, bool force) {
    Transaction tx(*db_);
    const RunInfo info = run(id); // a run of a dead process of this machine reads as interrupted
    if (info.status != RunStatus::Running)
        throw StoreError(path() + ": run " + std::to_string(id) + " is " + toString(info.status) +
                         ", not running: nothing to release" +
                         (info.status == RunStatus::Interrupted ? " (srigl train --resume continues it)" : ""));
    if (info.host == hostName())
        throw StoreError(path() + ": run " + std::to_string(id) + " is being trained by process " +
                         std::to_string(info.pid) + " on this machine, which is alive; stop it instead (Ctrl-C or kill " +
                         std::to_string(info.pid) + ")");
    requireQuietBeforeRelease(path(), "run " + std::to_string(id), info.host, info.pid, info.heardAt, force);
    Statement st(*db_, "UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running' AND host = ? AND pid = ?");
    st.bind(1, id).bind(2, info.host).bind(3, info.pid);
    st.run();
    tx.commit();
    return info;
}

void RunStore::reopenRun(int64_t id, int64_t fromStep, const std::string& config) {
    requireUtf8(path(), "config", config);
    // The check and the claim in one write transaction: of two processes resuming one run at
    // once, the second sees the first's claim.
    Transaction tx(*db_);
    const RunInfo info = run(id);
    // Its checkpoints belong to the run it was copied from, which goes on in its own database.
    if (!info.origin.empty())
        throw StoreError(path() + ": run " + std::to_string(id) + " is a copy merged from " + info.origin +
                         ", where it is run " + std::to_string(info.originId) + "; continue it there: srigl train "
                         "--resume " + std::to_string(info.originId) + " --db " + info.origin);
    if (isLive(info) && !(info.pid == currentPid() && info.host == hostName()))
        throw StoreError(path() + ": run " + std::to_string(id) + " is being trained by process " +
                         std::to_string(info.pid) + " on " + info.host + "; wait for it to end or stop it first" +
                         (info.host == hostName() ? std::string()
                                                  : "; if that machine's process is gone (a killed job, a failed node), "
                                                    "release the run first: srigl runs release " + std::to_string(id)));
    Statement st(*db_, "UPDATE runs SET status='running', finished_at=0, error='', pid=?, host=?, heard_at=? WHERE id=?");
    st.bind(1, currentPid()).bind(2, hostName()).bind(3, nowMs()).bind(4, id);
    st.run();
    if (!config.empty() && config != info.config) {
        Statement keep(*db_, "INSERT INTO config_history(run_id, step, config, created_at) VALUES(?,?,?,?)");
        keep.bind(1, id).bind(2, fromStep).bind(3, info.config).bind(4, nowMs());
        keep.run();
        Statement change(*db_, "UPDATE runs SET config=? WHERE id=?");
        change.bind(1, config).bind(2, id);
        change.run();
    }
    for (const char* sql : {"DELETE FROM metrics WHERE run_id=? AND step>?", "DELETE FROM masks WHERE run_id=? AND step>?",
                            "DELETE FROM checkpoints WHERE run_id=? AND step>?",
                            "DELETE FROM weight_stats WHERE run_id=? AND step>?",
                            "DELETE FROM weights WHERE run_id=? AND step>?",
                            "DELETE FROM gradients WHERE run_id=? AND step>?",
                            "DELETE FROM config_history WHERE run_id=? AND step>?"}) {
        Statement del(*db_, sql);
        del.bind(1, id).bind(2, fromStep);
        del.run();
    }
    tx.commit();
}

void RunStore::setConfig(int64_t id, const std::string& config) {
    requireUtf8(path(), "config", config);
    requireRun(id);
    Statement st(*db_, "UPDATE runs SET config = ? WHERE id = ?");
    st.bind(1, config).bind(2, id);
    st.run();
}

std::vector<ConfigChange> RunStore::configHistory(int64_t id) {
    requireRun(id);
    Statement st(*db_, "SELECT step, config, created_at FROM config_history WHERE run_id = ? ORDER BY step, rowid");
    st.bind(1, id);
    std::vector<ConfigChange> out;
    while (st.step()) out.push_back({st.columnInt(0), st.columnText(1), st.columnInt(2)});
    return out;
}

void RunStore::updateProgress(int64_t id, int64_t steps) {
    Statement st(*db_, "UPDATE runs SET steps = ? WHERE id = ? AND steps < ?");
    st.bind(1, steps).bind(2, id).bind(3, steps);
    st.run();
}

void RunStore::setSparsity(int64_t id, double sparsity) {
    requireRun(id);
    Statement st(*db_, "UPDATE runs SET sparsity = ? WHERE id = ?");
    st.bind(1, sparsity).bind(2, id);
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
              "regrown, sad, sparsity, ablated_ids, bits, bits_size, thresholds, row_stride) "
              "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
              masks, [&](Statement& st, const MaskRecord& m) {
                  // A sample holds every rowStride-th row of its layer, whole (LayerMaskSnapshot).
                  const int64_t stride = m.mask.rowStride;
                  if (stride < 1 ||
                      (m.mask.sampled() && m.mask.outFeatures != LayerMaskSnapshot::sampledRows(m.mask.layerRows(), stride)))
                      throw StoreError("the sampled mask of " + m.mask.name + " at step " + std::to_string(m.step) +
                                       " does not cover " + everyNth(m.mask.rowStride) + " of its " +
                                       std::to_string(m.mask.layerRows()) + " neurons");
                  st.bind(1, id).bind(2, m.step).bind(3, m.mask.name).bind(4, m.mask.layerRows()).bind(5, m.mask.fanIn);
                  st.bind(6, m.stats.k).bind(7, m.stats.active).bind(8, m.stats.ablated).bind(9, m.stats.pruned);
                  st.bind(10, m.stats.regrown).bind(11, m.stats.sad).bind(12, m.stats.sparsity);
                  // A record without bits (its layer too large to snapshot) stores its statistics with
                  // bits_size 0; the readers of snapshots skip it (kHasBits), maskStats keeps it.
                  st.bindBlob(13, encodeIds(m.mask.ablated)).bindBlob(14, compressBytes(m.mask.bits));
                  st.bind(15, static_cast<int64_t>(m.mask.bits.size()));
                  if (m.stats.thresholds.empty()) st.bindNull(16);
                  else st.bindBlob(16, encodeFloats(m.stats.thresholds));
                  st.bind(17, m.mask.rowStride);
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
              "condensed_us, in_features, out_features, threads, blas, cpu, kernel, kind, masked_us) "
              "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
              rows, [&](Statement& st, const TimingRecord& t) {
                  if (t.runId > 0) st.bind(1, t.runId);
                  else st.bindNull(1);
                  st.bind(2, t.createdAt > 0 ? t.createdAt : now).bind(3, t.device).bind(4, t.layer).bind(5, t.batch);
                  st.bind(6, t.sparsity);
                  // A variant that could not run here (CSR on some builds) is NaN.
                  st.bindDoubleOrNull(7, t.denseUs).bindDoubleOrNull(8, t.csrUs).bindDoubleOrNull(9, t.structuredUs);
                  st.bindDoubleOrNull(10, t.condensedUs);
                  st.bind(11, t.inFeatures).bind(12, t.outFeatures).bind(13, t.threads).bind(14, t.blas).bind(15, t.cpu);
                  st.bind(16, t.kernel).bind(17, t.kind).bindDoubleOrNull(18, t.maskedUs);
              });
}

std::vector<TimingRecord> RunStore::timings(int64_t runId) {
    std::string sql =
        "SELECT run_id, created_at, device, layer, batch, sparsity, dense_us, csr_us, structured_us, condensed_us, "
        "in_features, out_features, threads, blas, cpu, kernel, kind, masked_us FROM timings";
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
        t.kind = st.columnText(16);
        t.maskedUs = st.columnDoubleOrNaN(17);
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
    r.uuid = st.columnText(19);
    r.error = st.columnText(20);
    r.heardAt = st.columnInt(21);
    r.origin = st.columnText(22);
    r.originId = st.columnInt(23);
    // A run whose writer was killed still says running until a writer marks it; readers see the
    // truth without writing (a read-only database, a medium that cannot be written).
    if (r.status == RunStatus::Running && writerGone(r.host, r.pid)) r.status = RunStatus::Interrupted;
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
// The columns readMaskStatsRow reads, in its order; readMaskRow reads the blobs after them.
const char* const kMaskStatsColumns =
    "step, layer, out_features, fan_in, k, active, ablated, pruned, regrown, sad, sparsity, thresholds, bits_size > 0, "
    "row_stride";
const std::string kMaskColumns = std::string(kMaskStatsColumns) + ", ablated_ids, bits, bits_size";
// Rows that hold a snapshot: a row of statistics only (a layer too large to snapshot) has no bits.
const char* const kHasBits = " AND bits_size > 0";

MaskStatsRecord readMaskStatsRow(const Statement& st) {
    MaskStatsRecord m;
    m.step = st.columnInt(0);
    m.stats.name = st.columnText(1);
    m.stats.outFeatures = st.columnInt(2);
    m.stats.fanIn = st.columnInt(3);
    m.stats.k = st.columnInt(4);
    m.stats.active = st.columnInt(5);
    m.stats.ablated = st.columnInt(6);
    m.stats.pruned = st.columnInt(7);
    m.stats.regrown = st.columnInt(8);
    m.stats.sad = st.columnInt(9);
    m.stats.sparsity = st.columnDouble(10);
    m.stats.thresholds = decodeFloats(st.columnBlob(11)); // NULL reads as no bytes
    m.hasMask = st.columnInt(12) != 0;
    m.rowStride = st.columnInt(13);
    if (m.rowStride < 1 || m.rowStride > std::max<int64_t>(1, m.stats.outFeatures))
        throw StoreError("corrupt mask of " + m.stats.name + " at step " + std::to_string(m.step) + ": row stride " +
                         std::to_string(m.rowStride) + " for " + std::to_string(m.stats.outFeatures) + " neurons");
    if (!m.stats.thresholds.empty() && static_cast<int64_t>(m.stats.thresholds.size()) != m.stats.outFeatures)
        throw StoreError("corrupt thresholds of " + m.stats.name + " at step " + std::to_string(m.step) + ": " +
                         std::to_string(m.stats.thresholds.size()) + " values for " +
                         std::to_string(m.stats.outFeatures) + " neurons");
    return m;
}

MaskRecord readMaskRow(const Statement& st) {
    MaskStatsRecord head = readMaskStatsRow(st);
    MaskRecord m;
    m.step = head.step;
    m.stats = std::move(head.stats);
    m.mask.name = m.stats.name;
    const int64_t stride = head.rowStride;
    m.mask.rowStride = stride;
    m.mask.outFeatures = LayerMaskSnapshot::sampledRows(m.stats.outFeatures, stride);
    if (stride > 1) m.mask.layerOutFeatures = m.stats.outFeatures;
    m.mask.fanIn = m.stats.fanIn;
    m.mask.ablated = decodeIds(st.columnBlob(14));
    m.mask.bits = decompressBytes(st.columnBlob(15), static_cast<size_t>(st.columnInt(16)));
    return m;
}
} // namespace

std::vector<MaskRecord> RunStore::masks(int64_t id, const std::string& layer) {
    requireRun(id);
    return readLayerRows(*db_, kMaskColumns, "masks", id, layer, -1, readMaskRow, kHasBits);
}

std::vector<MaskStatsRecord> RunStore::maskStats(int64_t id) {
    requireRun(id);
    return readLayerRows(*db_, kMaskStatsColumns, "masks", id, "", -1, readMaskStatsRow);
}

std::vector<MaskRecord> RunStore::masksAtOrBefore(int64_t id, const std::string& layer, int64_t step, int count) {
    const std::string sql = std::string("SELECT ") + kMaskColumns +
                            " FROM masks WHERE run_id = ? AND layer = ? AND step <= ?" + kHasBits +
                            " ORDER BY step DESC LIMIT ?";
    Statement st(*db_, sql.c_str());
    st.bind(1, id).bind(2, layer).bind(3, step).bind(4, static_cast<int64_t>(count));
    std::vector<MaskRecord> out;
    while (st.step()) out.push_back(readMaskRow(st));
    return out;
}

std::vector<int64_t> RunStore::maskSteps(int64_t id) {
    const std::string sql = std::string("SELECT DISTINCT step FROM masks WHERE run_id = ?") + kHasBits + " ORDER BY step";
    Statement st(*db_, sql.c_str());
    st.bind(1, id);
    std::vector<int64_t> steps;
    while (st.step()) steps.push_back(st.columnInt(0));
    return steps;
}

std::vector<std::string> RunStore::maskLayers(int64_t id) {
    const std::string sql = std::string("SELECT layer FROM masks WHERE run_id = ?1") + kHasBits +
                            " AND step = (SELECT MIN(step) FROM masks WHERE run_id = ?1" + kHasBits + ") ORDER BY rowid";
    Statement st(*db_, sql.c_str());
    st.bind(1, id);
    std::vector<std::string> layers;
    while (st.step()) layers.push_back(st.columnText(0));
    return layers;
}

std::optional<std::pair<int64_t, std::string>> RunStore::lastCheckpoint(int64_t id) {
    Statement st(*db_, "SELECT step, path FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return std::make_pair(st.columnInt(0), locateCheckpoint(path(), st.columnText(1)));
}

void RunStore::addTag(int64_t id, const std::string& tag) {
    requireTag(path(), tag);
    requireRun(id);
    Statement st(*db_, "INSERT OR IGNORE INTO run_tags(run_id, tag) VALUES(?,?)");
    st.bind(1, id).bind(2, tag);
    st.run();
}

void RunStore::setTags(int64_t id, const std::vector<std::string>& tags) {
    for (const auto& tag : tags) requireTag(path(), tag);
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
    requireUtf8(path(), "notes", notes);
    requireRun(id);
    Statement st(*db_, "UPDATE runs SET notes = ? WHERE id = ?");
    st.bind(1, notes).bind(2, id);
    st.run();
}

std::vector<std::string> RunStore::deleteRun(int64_t id) {
    Transaction tx(*db_);
    const RunInfo info = run(id);
    if (isLive(info))
        throw StoreError(path() + ": run " + std::to_string(id) + " is being trained by process " +
                         std::to_string(info.pid) + " on " + info.host + "; stop it before deleting it" +
                         (info.host == hostName() ? std::string()
                                                  : " (if that machine's process is gone, srigl runs release " +
                                                        std::to_string(id) + " first)"));
    // Checkpoint files of this run that no other run names (a user may point two runs at one). A
    // merged copy names the files of the run it was copied from, which still needs them: none go.
    std::vector<std::string> files;
    if (info.origin.empty()) {
        Statement st(*db_, "SELECT DISTINCT path FROM checkpoints c WHERE run_id = ?1 AND NOT EXISTS "
                           "(SELECT 1 FROM checkpoints o WHERE o.path = c.path AND o.run_id != ?1)");
        st.bind(1, id);
        while (st.step()) files.push_back(locateCheckpoint(path(), st.columnText(0)));
    }
    Statement st(*db_, "DELETE FROM runs WHERE id = ?");
    st.bind(1, id);
    st.run();
    tx.commit();
    // After the commit: a failed delete keeps the run and its checkpoint together. A recorded path
    // may since hold another run's checkpoint (the file was removed by hand and the path reused,
    // from this database or another one): only a file that carries this run's identity, or a
    // legacy one that carries none, goes; so does a temporary file of this run's killed writer.
    const auto ownCheckpoint = [&](const std::string& file, bool allowLegacy) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(file, ec) || !looksLikeCheckpoint(file)) return false;
        CheckpointHeader header;
        return peekCheckpointHeader(file, header) ? header.runUuid == info.uuid : allowLegacy;
    };
    std::vector<std::string> removed;
    for (const auto& file : files) {
        std::error_code ec;
        if (ownCheckpoint(file + ".tmp", false)) std::filesystem::remove(file + ".tmp", ec);
        if (ownCheckpoint(file, true) && std::filesystem::remove(file, ec)) removed.push_back(file);
    }
    return removed;
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
