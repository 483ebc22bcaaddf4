// Who wrote a row of the store and when. Runs and sweeps record their writing process (host and
// pid) and their times in unix milliseconds, so that a later process can tell a live writer from
// one that was killed (markInterrupted of RunStore and SweepStore).
#pragma once

#include "sessions/store/sqlite_db.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl::sessions {

int64_t nowMs();
std::string hostName();
int64_t currentPid();

// True when the writer stamped (host, pid) ran on this host and is gone. Another host's writer
// cannot be checked: false.
bool writerGone(const std::string& host, int64_t pid);

// The ids of `table`'s rows still marked running whose writer ran on this host and is gone.
// `table` names one of the store's own tables with columns id, pid, host and status.
std::vector<int64_t> goneWriters(SqliteDb& db, const std::string& table);

} // namespace srigl::sessions
