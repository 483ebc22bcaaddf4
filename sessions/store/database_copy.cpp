// VACUUM INTO a temporary beside the copy, checked and synced, then renamed to a new name.
#include "sessions/store/database_copy.hpp"

#include "engine/runtime/durable_file.hpp"
#include "engine/runtime/partial_files.hpp"
#include "sessions/store/output_target.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/sqlite_db.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace srigl::sessions {
namespace {

namespace fs = std::filesystem;

int64_t pragmaInt(SqliteDb& db, const char* sql) {
    Statement st(db, sql);
    return st.step() ? st.columnInt(0) : 0;
}

// What the progress handler needs; SQLite calls it with this as its argument.
struct Watch {
    const CopyProgress* progress = nullptr;
    std::string temporary;
    int64_t expected = 0;
    bool cancelled = false;
    std::string error; // an exception of the callback, which must not cross SQLite's C frames
};

int onProgress(void* arg) {
    auto* watch = static_cast<Watch*>(arg);
    struct stat st {};
    const int64_t written = ::stat(watch->temporary.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
    try {
        if (!(*watch->progress)(written, watch->expected)) watch->cancelled = true;
    } catch (const std::exception& e) {
        watch->error = e.what();
        watch->cancelled = true;
    }
    return watch->cancelled ? 1 : 0; // non-zero interrupts the VACUUM
}

// Removes the temporary unless it was renamed into place.
class TemporaryFile {
public:
    explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
    ~TemporaryFile() {
        if (!kept_) ::unlink(path_.c_str());
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    const std::string& path() const { return path_; }
    void keep() { kept_ = true; }

private:
    std::string path_;
    bool kept_ = false;
};

// rename(2) that never replaces: renameat2's RENAME_NOREPLACE, or link + unlink where the file
// system has no renameat2 flags. 0 or the errno (EEXIST: something took the name meanwhile).
int renameNoReplace(const std::string& from, const std::string& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    const int error = errno;
    if (error != EINVAL && error != ENOSYS && error != ENOTSUP) return error;
    if (::link(from.c_str(), to.c_str()) != 0) return errno;
    ::unlink(from.c_str());
    return 0;
}

} // namespace

DatabaseCopy copyDatabase(const std::string& source, const std::string& out, const CopyProgress& progress) {
    // The source first: one that is not ours (or of a newer schema) is refused before anything is made.
    RunStore store(source, RunStore::Mode::ReadOnly);
    std::error_code ec;
    const fs::path target = fs::absolute(out, ec);
    if (ec || out.empty()) throw StoreError(out + ": cannot use this name for the copy");
    // A link to nothing is a name taken as well (outputTarget counts it as nothing).
    const bool link = fs::is_symlink(fs::symlink_status(target, ec));
    switch (link ? OutputTarget::RegularFile : outputTarget(target.string())) {
    case OutputTarget::Absent: break;
    case OutputTarget::Folder:
        throw StoreError(out + ": is a folder; name the copy's file (say " + (fs::path(out) / "runs.db").string() + ")");
    default:
        throw StoreError(out + ": exists; a copy never replaces a file: choose a new name");
    }
    const fs::path folder = target.parent_path();
    fs::create_directories(folder, ec);
    if (ec) throw StoreError(out + ": cannot create the folder " + folder.string() + ": " + ec.message());
    const std::string name = target.filename().string();
    removeAbandonedPartials(folder, name, ".part"); // what a killed copy to this name left
    TemporaryFile temporary((folder / partialName(name, ".part")).string());

    SqliteDb& db = store.database();
    Watch watch;
    watch.progress = &progress;
    watch.temporary = temporary.path();
    watch.expected = (pragmaInt(db, "PRAGMA page_count") - pragmaInt(db, "PRAGMA freelist_count")) *
                     pragmaInt(db, "PRAGMA page_size");
    if (progress) sqlite3_progress_handler(db.handle(), 1000, onProgress, &watch);
    try {
        // One read transaction: writers of the source go on in WAL mode, the copy is their state at its start.
        Statement vacuum(db, "VACUUM INTO ?");
        vacuum.bind(1, temporary.path());
        vacuum.step();
    } catch (const StoreError& e) {
        sqlite3_progress_handler(db.handle(), 0, nullptr, nullptr);
        if (!watch.error.empty()) throw StoreError(out + ": the copy was stopped (" + watch.error + "); nothing was written");
        if (watch.cancelled) throw StoreError(out + ": the copy was cancelled; nothing was written");
        throw StoreError(out + ": cannot write the copy (" + e.what() + "); nothing was written, " + source +
                             " is as it was",
                         e.sqliteCode());
    }
    sqlite3_progress_handler(db.handle(), 0, nullptr, nullptr);

    DatabaseCopy copy;
    {
        // Read as it is (immutable: no lock, no -shm beside the temporary), and checked whole.
        SqliteDb check(temporary.path(), true, false, true);
        Statement quick(check, "PRAGMA quick_check");
        const std::string verdict = quick.step() ? quick.columnText(0) : std::string("no answer");
        if (verdict != "ok")
            throw StoreError(out + ": the copy did not read back whole (" + verdict + "); nothing was written");
        if (static_cast<int32_t>(pragmaInt(check, "PRAGMA application_id")) != RunStore::kApplicationId)
            throw StoreError(out + ": the copy lost its SRigL Studio header; nothing was written");
        copy.runs = pragmaInt(check, "SELECT count(*) FROM runs");
    }
    if (const int error = syncFile(temporary.path()))
        throw StoreError(out + ": cannot write the copy: " + std::strerror(error) + "; nothing was written");
    if (const int error = renameNoReplace(temporary.path(), target.string())) {
        if (error == EEXIST)
            throw StoreError(out + ": appeared while the copy was written; a copy never replaces a file: choose a new name");
        throw StoreError(out + ": cannot put the copy in place: " + std::strerror(error) + "; nothing was written");
    }
    temporary.keep();
    syncFolder(folder.string());
    copy.bytes = static_cast<int64_t>(fs::file_size(target, ec));
    return copy;
}

} // namespace srigl::sessions
