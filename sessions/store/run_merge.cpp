// Row by row, table by table, between two connections of one schema.
#include "sessions/store/run_merge.hpp"

#include "sessions/store/sqlite_db.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

namespace srigl::sessions {
namespace {

// The per-run tables and what of them is not copied as it is: run_id becomes the new id, and a
// table's own key (timings.id) is given anew.
struct ChildTable {
    const char* name;
    const char* ownKey; // nullptr: none
};
const ChildTable kChildTables[] = {
    {"run_tags", nullptr}, {"metrics", nullptr},   {"masks", nullptr},          {"weight_stats", nullptr},
    {"weights", nullptr},  {"gradients", nullptr}, {"config_history", nullptr}, {"timings", "id"},
};

std::vector<std::string> columnsOf(SqliteDb& db, const std::string& table) {
    Statement st(db, "SELECT name FROM pragma_table_info(?) ORDER BY cid");
    st.bind(1, table);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.columnText(0));
    return out;
}

std::string joined(const std::vector<std::string>& names, const std::string& prefix = "") {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + prefix + n;
    return out;
}

// Copies the rows of `table` whose `key` is `from` in `source` to `target` with `key` `to`, every
// column but those in `skip` (which take their defaults).
void copyRows(SqliteDb& source, SqliteDb& target, const std::string& table, const std::string& key, int64_t from,
              int64_t to, const std::vector<std::string>& skip) {
    std::vector<std::string> columns;
    for (const auto& c : columnsOf(target, table))
        if (c != key && std::find(skip.begin(), skip.end(), c) == skip.end()) columns.push_back(c);
    const std::string select = "SELECT " + joined(columns) + " FROM " + table + " WHERE " + key + " = ?";
    std::string values;
    for (size_t i = 0; i <= columns.size(); ++i) values += i ? ", ?" : "?";
    const std::string insert = "INSERT INTO " + table + "(" + key + ", " + joined(columns) + ") VALUES(" + values + ")";
    Statement rows(source, select.c_str());
    rows.bind(1, from);
    Statement put(target, insert.c_str());
    while (rows.step()) {
        put.bind(1, to);
        for (int c = 0; c < static_cast<int>(columns.size()); ++c) put.bindColumnOf(c + 2, rows, c);
        put.run();
    }
}

// A read transaction on a read-only connection (Transaction's BEGIN IMMEDIATE would need to write).
class ReadSnapshot {
public:
    explicit ReadSnapshot(SqliteDb& db) : db_(db) { db_.exec("BEGIN"); }
    ~ReadSnapshot() {
        try {
            db_.exec("COMMIT");
        } catch (const StoreError&) {
            // A read transaction holds nothing to keep; the connection ends with the merge.
        }
    }
    ReadSnapshot(const ReadSnapshot&) = delete;
    ReadSnapshot& operator=(const ReadSnapshot&) = delete;

private:
    SqliteDb& db_;
};

bool sameFile(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

} // namespace

MergeResult mergeRuns(RunStore& target, const std::string& source, const std::vector<int64_t>& ids,
                      const MergeProgress& progress) {
    if (sameFile(source, target.path()))
        throw StoreError(source + ": is the database the runs would be merged into; name another one");
    RunStore from(source, RunStore::Mode::ReadOnly); // ours and of this schema, or refused untouched
    std::vector<RunInfo> runs = from.listRuns();
    if (!ids.empty()) {
        std::vector<RunInfo> chosen;
        for (int64_t id : ids) {
            const auto it = std::find_if(runs.begin(), runs.end(), [id](const RunInfo& r) { return r.id == id; });
            if (it == runs.end()) throw StoreError(source + ": no run with id " + std::to_string(id) + "; nothing was merged");
            chosen.push_back(*it);
        }
        runs = std::move(chosen);
    }
    namespace fs = std::filesystem;
    std::error_code ec;
    const std::string sourcePath = fs::absolute(source, ec).lexically_normal().string();
    SqliteDb& in = from.database();
    SqliteDb& out = target.database();
    // One run in one transaction; the reason it was skipped, or "" when it was copied as `id`.
    const auto mergeOne = [&](const RunInfo& run, int64_t& id) -> std::string {
        if (run.status == RunStatus::Running)
            return "still running (process " + std::to_string(run.pid) + " on " + run.host +
                   "); merge it once it has ended";
        // The source's rows of this run read as one snapshot: a `runs delete` or a tag edit there
        // in the middle of the copy lands wholly before or after it.
        const ReadSnapshot snapshot(in);
        Transaction tx(out);
        Statement here(out, "SELECT id FROM runs WHERE uuid = ? AND uuid != ''");
        here.bind(1, run.uuid);
        if (here.step()) return "already here as run " + std::to_string(here.columnInt(0));
        id = target.reserveRunId();
        copyRows(in, out, "runs", "id", run.id, id, {"origin", "origin_id"});
        // A killed run of the source's host reads interrupted there, and is so here. A copy of a
        // copy comes from where the first one came from.
        Statement origin(out, "UPDATE runs SET status = ?, origin = ?, origin_id = ? WHERE id = ?");
        origin.bind(1, toString(run.status)).bind(2, run.origin.empty() ? sourcePath : run.origin);
        origin.bind(3, run.origin.empty() ? run.id : run.originId).bind(4, id);
        origin.run();
        for (const ChildTable& t : kChildTables)
            copyRows(in, out, t.name, "run_id", run.id, id,
                     t.ownKey ? std::vector<std::string>{t.ownKey} : std::vector<std::string>{});
        // Checkpoint paths as the source's runs find them (a relative one beside the source).
        Statement files(in, "SELECT step, path, created_at FROM checkpoints WHERE run_id = ?");
        files.bind(1, run.id);
        Statement put(out, "INSERT INTO checkpoints(run_id, step, path, created_at) VALUES(?,?,?,?)");
        while (files.step()) {
            put.bind(1, id).bind(2, files.columnInt(0)).bind(3, locateCheckpoint(source, files.columnText(1)));
            put.bind(4, files.columnInt(2));
            put.run();
        }
        tx.commit();
        return "";
    };
    MergeResult result;
    int64_t done = 0;
    for (const RunInfo& run : runs) {
        int64_t id = 0;
        std::string skipped;
        try {
            skipped = mergeOne(run, id);
        } catch (const StoreError& e) {
            std::string kept;
            for (const auto& m : result.merged)
                kept += (kept.empty() ? "" : ", ") + std::to_string(m.sourceId) + " (now " + std::to_string(m.id) + ")";
            throw StoreError(std::string(e.what()) + "; run " + std::to_string(run.id) + " of " + source +
                                 " was not merged" +
                                 (kept.empty() ? std::string() : "; runs " + kept + " were, and a second merge skips them"),
                             e.sqliteCode());
        }
        if (skipped.empty()) result.merged.push_back({run.id, id, run.name});
        else result.skipped.push_back({run.id, skipped});
        ++done;
        if (progress && !progress(done, static_cast<int64_t>(runs.size())) && done < static_cast<int64_t>(runs.size())) {
            result.stopped = true;
            break;
        }
    }
    return result;
}

} // namespace srigl::sessions
