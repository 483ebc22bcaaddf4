// Writer stamps: clock, host, process, and the liveness check.
#include "sessions/store/writer_stamp.hpp"

#include "sessions/store/store_error.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>

namespace srigl::sessions {

int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string hostName() {
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    return buf;
}

int64_t currentPid() { return static_cast<int64_t>(getpid()); }

bool writerGone(const std::string& host, int64_t pid) {
    // kill(pid, 0) fails with ESRCH when the process is gone.
    return host == hostName() && pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

std::string heardAgoText(int64_t thenMs, int64_t now) {
    if (thenMs <= 0) return "never";
    const int64_t seconds = (now - thenMs) / 1000;
    if (seconds < 1) return "just now";
    if (seconds < 120) return std::to_string(seconds) + " s ago";
    const int64_t minutes = seconds / 60;
    if (minutes < 120) return std::to_string(minutes) + " min ago";
    const int64_t hours = minutes / 60;
    if (hours < 48) return std::to_string(hours) + " h " + std::to_string(minutes % 60) + " min ago";
    return std::to_string(hours / 24) + " days ago";
}

void requireQuietBeforeRelease(const std::string& dbPath, const std::string& what, const std::string& host,
                               int64_t pid, int64_t heardAt, bool force) {
    const int64_t now = nowMs();
    // A stamp ahead of this clock counts as recent: the other machine's clock runs ahead.
    if (force || heardAt <= 0 || now - heardAt >= kQuietBeforeReleaseMs) return;
    throw StoreError(dbPath + ": " + what + " was heard from " + heardAgoText(heardAt, now) + " (process " +
                     std::to_string(pid) + " on " + host + "): it is most likely still running, and a release "
                     "would stop its recording. Stop it there, or wait until it has been silent for " +
                     std::to_string(kQuietBeforeReleaseMs / 60000) +
                     " min; if you are sure it is gone, release it with --force");
}

std::vector<int64_t> goneWriters(SqliteDb& db, const std::string& table) {
    const std::string sql = "SELECT id, pid, host FROM " + table + " WHERE status = 'running'";
    Statement st(db, sql.c_str());
    std::vector<int64_t> gone;
    while (st.step())
        if (writerGone(st.columnText(2), st.columnInt(1))) gone.push_back(st.columnInt(0));
    return gone;
}

} // namespace srigl::sessions
