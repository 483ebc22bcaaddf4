// SQLite connection and statements.
#include "sessions/store/sqlite_db.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <limits>

namespace srigl::sessions {
namespace {

std::atomic<SqliteObserver> g_observer{nullptr};

void observe(SqliteCall call, const char* text) {
    if (const SqliteObserver observer = g_observer.load(std::memory_order_relaxed)) observer(call, text);
}

} // namespace

void setSqliteObserver(SqliteObserver observer) { g_observer.store(observer); }

SqliteDb::SqliteDb(const std::string& path, bool readOnly, bool create, bool immutable) : path_(path) {
    observe(SqliteCall::Open, path.c_str());
    int flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (create && !readOnly) flags |= SQLITE_OPEN_CREATE;
    flags |= SQLITE_OPEN_NOMUTEX; // one connection per thread
    std::string name = path;
    if (immutable && readOnly) {
        // Only a URI says immutable. Every byte but letters and digits escaped: '?', '#' and '%'
        // in a file name, and a leading "//" (an authority), mean something in a URI.
        static const char* const hex = "0123456789ABCDEF";
        name = "file:";
        for (const unsigned char c : path) {
            if (std::isalnum(c)) {
                name += static_cast<char>(c);
            } else {
                name += '%';
                name += hex[c >> 4];
                name += hex[c & 15];
            }
        }
        name += "?immutable=1";
        flags |= SQLITE_OPEN_URI;
    }
    if (sqlite3_open_v2(name.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
        const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        const int code = db_ ? sqlite3_extended_errcode(db_) : SQLITE_NOMEM;
        sqlite3_close(db_);
        db_ = nullptr;
        throw StoreError(path + ": cannot open database: " + msg, code);
    }
    // Writers hold the lock briefly (batched transactions); readers and a second writer wait for it
    // instead of failing at once.
    sqlite3_busy_timeout(db_, 5000);
    sqlite3_extended_result_codes(db_, 1);
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

void SqliteDb::fail(const std::string& what) const {
    const int code = sqlite3_extended_errcode(db_);
    std::string msg = path_ + ": " + what + ": " + sqlite3_errmsg(db_);
    if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
        msg += " (the database is locked by another process; try again when it is done)";
    else if ((code & 0xff) == SQLITE_READONLY)
        msg += " (the database file or its directory is read-only)";
    else if ((code & 0xff) == SQLITE_FULL)
        msg += " (the disk or the database is full; nothing of this write was stored, what was stored before is kept)";
    else if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB)
        msg += " (the file is not a valid SRigL Studio database)";
    throw StoreError(msg, code);
}

bool StoreError::mayPass() const {
    switch (code_ & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
        return true;
    default:
        return false;
    }
}

int SqliteDb::errorCode() const { return sqlite3_extended_errcode(db_); }

void SqliteDb::exec(const char* sql) {
    observe(SqliteCall::Execute, sql);
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "error";
        sqlite3_free(err);
        fail(std::string("cannot run '") + std::string(sql).substr(0, 40) + "...'");
    }
}

int64_t SqliteDb::lastInsertId() const { return sqlite3_last_insert_rowid(db_); }

Statement::Statement(SqliteDb& db, const char* sql) : db_(db) {
    observe(SqliteCall::Prepare, sql);
    if (sqlite3_prepare_v2(db.handle(), sql, -1, &stmt_, nullptr) != SQLITE_OK)
        db.fail("cannot prepare statement");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, int64_t value) {
    if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) db_.fail("bind");
    return *this;
}
Statement& Statement::bind(int index, double value) {
    if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) db_.fail("bind");
    return *this;
}
Statement& Statement::bind(int index, const std::string& value) {
    if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) != SQLITE_OK)
        db_.fail("bind");
    return *this;
}
Statement& Statement::bindBlob(int index, const std::vector<uint8_t>& value) {
    // An empty vector has no data pointer, which SQLite would store as NULL, not as an empty blob.
    if (value.empty()) {
        if (sqlite3_bind_zeroblob(stmt_, index, 0) != SQLITE_OK) db_.fail("bind");
        return *this;
    }
    if (sqlite3_bind_blob(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) != SQLITE_OK)
        db_.fail("bind");
    return *this;
}
Statement& Statement::bindNull(int index) {
    if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) db_.fail("bind");
    return *this;
}

Statement& Statement::bindColumnOf(int index, const Statement& row, int col) {
    if (sqlite3_bind_value(stmt_, index, sqlite3_column_value(row.stmt_, col)) != SQLITE_OK) db_.fail("bind");
    return *this;
}

int Statement::columnCount() const { return sqlite3_column_count(stmt_); }

Statement& Statement::bindDoubleOrNull(int index, double value) {
    return std::isnan(value) ? bindNull(index) : bind(index, value);
}

bool Statement::step() {
    if (!sqlite3_stmt_busy(stmt_)) observe(SqliteCall::Execute, sqlite3_sql(stmt_)); // not once per row
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail("statement failed");
}

void Statement::run() {
    while (step()) {
    }
    reset();
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

int64_t Statement::columnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::columnDouble(int col) const { return sqlite3_column_double(stmt_, col); }
std::string Statement::columnText(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
}
std::vector<uint8_t> Statement::columnBlob(int col) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(stmt_, col)) : std::vector<uint8_t>{};
}
bool Statement::columnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
double Statement::columnDoubleOrNaN(int col) const {
    return columnIsNull(col) ? std::numeric_limits<double>::quiet_NaN() : columnDouble(col);
}

Transaction::Transaction(SqliteDb& db) : db_(db), joined_(sqlite3_get_autocommit(db.handle()) == 0) {
    if (!joined_) db_.exec("BEGIN IMMEDIATE");
}
Transaction::~Transaction() {
    if (!done_ && !joined_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}
void Transaction::commit() {
    if (!joined_) db_.exec("COMMIT");
    done_ = true;
}

void SqliteDb::setBusyTimeout(int milliseconds) { sqlite3_busy_timeout(db_, milliseconds); }

} // namespace srigl::sessions
