// Which journal a run database is written with: SQLite's write-ahead log (WAL) on a local disk, a
// rollback journal on a network or cluster file system.
//
// WAL keeps its index in `runs.db-shm`, a file every process maps into memory. Processes on one
// machine share those pages; processes on different machines (a training job on a cluster node and
// `srigl runs list` on the login node, two nodes of a sweep writing one ~/runs.db on NFS) each map
// their own copy, read pages through a stale index and checkpoint over each other: SQLite's own
// documentation says WAL does not work over a network file system, and the database is corrupted
// without an error. A rollback journal needs only file locks, which NFSv4, Lustre, GPFS, BeeGFS and
// CephFS keep across machines. It costs concurrency - a reader waits while a batch commits, and a
// writer while a reader reads (the recorder's retries absorb both) - so a local disk keeps WAL.
#pragma once

#include <string>

namespace srigl::sessions {

enum class JournalMode { Wal, Rollback };

// The network or cluster file system of statfs's f_type, by name ("nfs", "cifs", "smb2", "lustre",
// "gpfs", "beegfs", "cephfs", "9p", "fuse", "afs", ...), or "" for a local one (ext4, xfs, btrfs,
// tmpfs, overlay, ...). FUSE counts as networked: sshfs, s3fs and gcsfuse are FUSE.
std::string networkFileSystemName(long long fType);

// networkFileSystemName of the file system holding `path` (its folder when `path` does not exist
// yet), or "" when it cannot be told.
std::string networkFileSystemOf(const std::string& path);

// The journal for the database at `path`: $SRIGL_DB_JOURNAL when set ("wal" or "rollback"; "auto"
// as unset), else Rollback on a network file system and Wal elsewhere. StoreError for any other
// value of the variable. `why` (optional) receives the reason, for messages.
JournalMode journalModeFor(const std::string& path, std::string* why = nullptr);

} // namespace srigl::sessions
