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

// A writer of another host cannot be checked; what it leaves is when it was last heard from: every
// write of a training run (a batch every half second while it trains, a heartbeat every
// kHeartbeatMs while it is busy elsewhere, say in a long evaluation) stamps heard_at. A run silent
// for less than kQuietBeforeReleaseMs is taken as alive: releasing it needs --force.
constexpr int64_t kHeartbeatMs = 15000;
constexpr int64_t kQuietBeforeReleaseMs = 120000;

// "14 s", "3 min", "2 h 5 min", "3 days": how long ago `thenMs` was, for a person. 0 (a row of
// an older schema, never stamped) is "never"; a time ahead of this clock (another machine's clock
// runs ahead) is "just now".
std::string heardAgoText(int64_t thenMs, int64_t nowMs);

// StoreError naming `what` ("run 3") when its writer (`pid` on `host`) was heard from less than
// kQuietBeforeReleaseMs ago and `force` is false: releasing a live process's run would stop it.
void requireQuietBeforeRelease(const std::string& dbPath, const std::string& what, const std::string& host,
                               int64_t pid, int64_t heardAt, bool force);

// The ids of `table`'s rows still marked running whose writer ran on this host and is gone.
// `table` names one of the store's own tables with columns id, pid, host and status.
std::vector<int64_t> goneWriters(SqliteDb& db, const std::string& table);

} // namespace srigl::sessions
