// The one "may a file be written here" check for every path a user names as an output: the
// command line's --out and export files, the videos and PNG sequences of sessions/render and the
// Studio's exports. No Torch, no Qt, no OpenCV, so all three layers can use it.
#pragma once

#include <string>

namespace srigl::sessions {

enum class OutputTarget {
    Absent,      // nothing there (a link to nothing counts as nothing): a new file
    RegularFile, // an existing file, which a writer may replace
    Folder,
    Special,     // a device (/dev/full, /dev/null), a FIFO or a socket
    StoredData,  // an existing file holding what SRigL Studio (or another tool) keeps: see storedDataKind
};

// What is at `path`; a link is judged by what it points to.
OutputTarget outputTarget(const std::string& path);

// What stored data the regular file at `path` holds, or "" when none (or not a regular file): "a SQLite database" (a run
// database, or any other: the header), "the write-ahead log of a SQLite database", "a SQLite rollback
// journal" (their headers), "a companion file (-shm) of the SQLite database X" (`X-shm`, which has
// no header, or an emptied `X-wal`/`X-journal`, beside a database), "a SRigL checkpoint". An export that replaced one of them (an
// --out that is a link to runs.db, a mistyped name) destroyed every recorded run; they are never a
// picture, a video or an export the user meant to replace.
std::string storedDataKind(const std::string& path);

// Why no file may be written at `path`, as the end of a sentence that names it, or "" when it may
// (new, or a regular file): "is a folder; <folderAdvice>", "exists and is not a regular file (a
// device, FIFO or socket); <specialAdvice>" or "holds <storedDataKind>; refusing to replace it ...". A special file is refused because the writers either
// open the path themselves (opening a FIFO blocks until a reader comes) or rename a finished file
// over it (which would replace a device node with a plain file) or remove what they could not
// finish (which would delete it).
std::string outputTargetProblem(const std::string& path, const std::string& folderAdvice,
                                const std::string& specialAdvice);

} // namespace srigl::sessions
