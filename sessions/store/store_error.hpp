// The error every failure of the session store raises: what went wrong, with the database path.
#pragma once

#include <stdexcept>
#include <string>

namespace srigl::sessions {

class StoreError : public std::runtime_error {
public:
    // sqliteCode: SQLite's extended result code when SQLite refused the call, 0 otherwise.
    explicit StoreError(const std::string& what, int sqliteCode = 0) : std::runtime_error(what), code_(sqliteCode) {}
    int sqliteCode() const { return code_; }
    // A refusal that may pass by itself: the database locked by another process, a full disk, an
    // I/O error. Writers that can wait (the recorder) hold their records and try again.
    bool mayPass() const;

private:
    int code_ = 0;
};

// A write of a process whose run (or sweep) another process has claimed since (`srigl runs release`
// on a run whose machine looked gone, then a resume elsewhere): it must stop writing, for good.
class RunTakenOver : public StoreError {
public:
    using StoreError::StoreError;
};

// A read-only open of a database of an older schema: it must be migrated (opened read-write) once.
class StoreNeedsMigration : public StoreError {
public:
    using StoreError::StoreError;
};

} // namespace srigl::sessions
