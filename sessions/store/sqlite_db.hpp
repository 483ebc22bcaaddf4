// A thin RAII layer over the SQLite C API: a connection and prepared statements only (no string
// building of values into SQL), every failure a StoreError that names the database file.
#pragma once

#include "sessions/store/store_error.hpp"

#include <cstdint>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace srigl::sessions {

class SqliteDb;

// What a connection is about to do, as an observer sees it.
enum class SqliteCall {
    Open,    // text: the database file
    Prepare, // text: the SQL
    Execute, // a statement starts running (its first step, or exec); text: the SQL
};
// Called on the calling thread before every open, prepare and statement execution of every
// connection. For tests: proving that a thread (the Studio's UI thread) never touches SQLite, or
// slowing every statement down. The default, nullptr, calls nothing (one relaxed atomic load).
using SqliteObserver = void (*)(SqliteCall call, const char* text);
void setSqliteObserver(SqliteObserver observer);

class Statement {
public:
    Statement(SqliteDb& db, const char* sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, int64_t value);
    Statement& bind(int index, double value);
    Statement& bind(int index, const std::string& value);
    Statement& bindBlob(int index, const std::vector<uint8_t>& value);
    Statement& bindNull(int index);
    // SQLite has no NaN: a NaN double (a diverged loss, a variant that could not run) is stored as
    // NULL, and columnDoubleOrNaN reads NULL back as NaN.
    Statement& bindDoubleOrNull(int index, double value);
    // The value of column `col` of `row`'s current row, whatever its type (a copy between two
    // databases of one schema).
    Statement& bindColumnOf(int index, const Statement& row, int col);
    // Steps once: true while a row is available.
    bool step();
    // Runs to completion (INSERT / UPDATE / DELETE) and resets for reuse.
    void run();
    void reset();

    int64_t columnInt(int col) const;
    double columnDouble(int col) const;
    std::string columnText(int col) const;
    std::vector<uint8_t> columnBlob(int col) const;
    bool columnIsNull(int col) const;
    int columnCount() const;
    double columnDoubleOrNaN(int col) const;

private:
    SqliteDb& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class SqliteDb {
public:
    // readOnly opens without write access; create allows a new file. immutable (read-only only)
    // reads the file as it is, without locks or the -shm index: for a WAL database in a folder
    // this process cannot write, whose index SQLite cannot create. Throws StoreError.
    SqliteDb(const std::string& path, bool readOnly, bool create, bool immutable = false);
    ~SqliteDb();
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    void exec(const char* sql);
    int64_t lastInsertId() const;
    const std::string& path() const { return path_; }
    sqlite3* handle() { return db_; }
    [[noreturn]] void fail(const std::string& what) const;
    // The extended result code of the last failed call (SQLITE_READONLY_DIRECTORY, ...).
    int errorCode() const;
    // How long a call waits for another connection's lock before it fails (5 s from the start).
    void setBusyTimeout(int milliseconds);

private:
    sqlite3* db_ = nullptr;
    std::string path_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if the scope is left by an exception. Inside another
// transaction of the same connection it joins that one (no BEGIN, no COMMIT of its own): a caller
// can make several store writes one atomic batch, and an exception rolls back the outer one.
class Transaction {
public:
    explicit Transaction(SqliteDb& db);
    ~Transaction();
    void commit();

private:
    SqliteDb& db_;
    bool joined_ = false;
    bool done_ = false;
};

} // namespace srigl::sessions
