// Temporaries named after their target and writer, and the removal of those of dead writers.
#include "engine/runtime/partial_files.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <system_error>
#include <unistd.h>

namespace srigl {
namespace {

namespace fs = std::filesystem;

const std::string kMark = ".srigl-partial-";

// Reads the digits at `at`; false when there are none or too many for a pid.
bool readNumber(const std::string& s, size_t& at, uint64_t& value) {
    const size_t start = at;
    value = 0;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9' && at - start < 18) value = value * 10 + uint64_t(s[at++] - '0');
    return at > start && (at == s.size() || s[at] < '0' || s[at] > '9');
}

// The writer's pid when `file` is exactly `.<name>.srigl-partial-<pid>-<n><ext>`, else 0.
pid_t partialPid(const std::string& file, const std::string& name, const std::string& ext) {
    const std::string prefix = "." + name + kMark;
    if (file.size() <= prefix.size() + ext.size() || file.compare(0, prefix.size(), prefix) != 0) return 0;
    size_t at = prefix.size();
    uint64_t pid = 0, n = 0;
    if (!readNumber(file, at, pid) || at >= file.size() || file[at++] != '-' || !readNumber(file, at, n)) return 0;
    if (file.compare(at, std::string::npos, ext) != 0) return 0;
    return pid > 0 && pid <= uint64_t(INT32_MAX) ? static_cast<pid_t>(pid) : 0;
}

bool writerIsGone(pid_t pid) {
    if (pid == ::getpid()) return false; // another writer of this process
    return ::kill(pid, 0) == -1 && errno == ESRCH;
}

} // namespace

std::string partialName(const std::string& name, const std::string& ext) {
    static std::atomic<unsigned> counter{0};
    return "." + name + kMark + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ext;
}

void removeAbandonedPartials(const fs::path& folder, const std::string& name, const std::string& ext) {
    std::error_code ec;
    for (fs::directory_iterator it(folder.empty() ? fs::path(".") : folder, ec), end; !ec && it != end;
         it.increment(ec)) {
        const pid_t pid = partialPid(it->path().filename().string(), name, ext);
        if (pid == 0) continue;
        std::error_code typeError;
        const fs::file_status st = it->symlink_status(typeError); // a link is never followed
        if (typeError) continue;
        const bool expected = ext.empty() ? fs::is_directory(st) : fs::is_regular_file(st);
        if (!expected || !writerIsGone(pid)) continue;
        if (ext.empty()) removeStagingFolder(it->path());
        else ::unlink(it->path().c_str());
    }
}

void removeStagingFolder(const fs::path& folder) {
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code typeError;
        const fs::file_status st = it->symlink_status(typeError); // a link is a name to remove, not a folder
        if (typeError) continue;
        if (fs::is_directory(st)) removeStagingFolder(it->path()); // an export's features/
        else ::unlink(it->path().c_str());
    }
    ::rmdir(folder.c_str());
}

} // namespace srigl
