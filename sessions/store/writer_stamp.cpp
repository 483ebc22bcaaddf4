// Writer stamps: clock, host, process, and the liveness check.
#include "sessions/store/writer_stamp.hpp"

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

std::vector<int64_t> goneWriters(SqliteDb& db, const std::string& table) {
    const std::string sql = "SELECT id, pid, host FROM " + table + " WHERE status = 'running'";
    Statement st(db, sql.c_str());
    std::vector<int64_t> gone;
    while (st.step())
        if (writerGone(st.columnText(2), st.columnInt(1))) gone.push_back(st.columnInt(0));
    return gone;
}

} // namespace srigl::sessions
