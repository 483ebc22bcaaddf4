// A consistent copy of a run database while it stays in use (srigl runs backup, the Studio's File →
// Save a Copy of the Database). Copying runs.db with cp is not one: in WAL mode the newest commits
// live in runs.db-wal until a checkpoint, so a copy of the file alone misses them (or, copied in
// the middle of a checkpoint, is torn). Here SQLite's VACUUM INTO writes one read transaction's
// snapshot, compacted, into a temporary beside the copy; it is checked, synced, and only then takes
// the copy's name, which must be new: a copy never replaces a file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace srigl::sessions {

struct DatabaseCopy {
    int64_t runs = 0;  // runs in the copy
    int64_t bytes = 0; // the copy's size
};

// Called now and then on the copying thread with the bytes written so far and about how many there
// will be (the source's used pages; the copy leaves free pages out, so it may end short of it).
// Returning false cancels: nothing is left behind.
using CopyProgress = std::function<bool(int64_t written, int64_t expected)>;

// Copies the SRigL Studio database at `source` to `out`, which must not exist (its missing folders
// are made). Writers of the source go on meanwhile; the copy holds every run as of the moment the
// copy started. Throws StoreError, with nothing at `out` and no temporary left: for a source that
// is not a SRigL Studio database, an `out` that exists, a cancel, a full disk. The temporary of a
// killed copy is removed by the next copy to the same name (engine/runtime/partial_files.hpp).
DatabaseCopy copyDatabase(const std::string& source, const std::string& out, const CopyProgress& progress = {});

} // namespace srigl::sessions
