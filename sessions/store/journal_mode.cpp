// The file system under a database, and the journal it gets.
#include "sessions/store/journal_mode.hpp"

#include "sessions/store/store_error.hpp"

#include <cstdlib>
#include <filesystem>
#include <sys/vfs.h>

namespace srigl::sessions {

std::string networkFileSystemName(long long fType) {
    // The magic numbers of <linux/magic.h> and of the file systems' own sources (Lustre, GPFS and
    // BeeGFS are out of tree). Compared as unsigned 32-bit: f_type is signed on some ABIs.
    switch (static_cast<unsigned long>(fType) & 0xffffffffUL) {
    case 0x6969UL: return "nfs";
    case 0xff534d42UL: return "cifs";
    case 0xfe534d42UL: return "smb2";
    case 0x517bUL: return "smb";
    case 0x0bd00bd0UL: return "lustre";
    case 0x47504653UL: return "gpfs";
    case 0x19830326UL: return "beegfs";
    case 0x00c36400UL: return "cephfs";
    case 0x01021997UL: return "9p";
    case 0x65735546UL: return "fuse";
    case 0x5346414fUL: return "afs";
    case 0x6b414653UL: return "afs";
    case 0x564c:       return "ncp";
    case 0x73757245UL: return "coda";
    case 0x013111a8UL: return "ibrix";
    case 0xaad7aaeaUL: return "panfs";
    default: return "";
    }
}

std::string networkFileSystemOf(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path at = fs::absolute(path, ec);
    if (ec) return "";
    // The nearest existing folder: a new database is created where its folder is.
    while (!fs::exists(at, ec) && at.has_parent_path() && at != at.parent_path()) at = at.parent_path();
    struct statfs info {};
    if (::statfs(at.c_str(), &info) != 0) return "";
    return networkFileSystemName(static_cast<long long>(info.f_type));
}

JournalMode journalModeFor(const std::string& path, std::string* why) {
    if (const char* env = std::getenv("SRIGL_DB_JOURNAL"); env && *env && std::string(env) != "auto") {
        const std::string value = env;
        if (value != "wal" && value != "rollback")
            throw StoreError("SRIGL_DB_JOURNAL: must be wal, rollback or auto, got '" + value + "'");
        if (why) *why = "SRIGL_DB_JOURNAL=" + value;
        return value == "wal" ? JournalMode::Wal : JournalMode::Rollback;
    }
    const std::string network = networkFileSystemOf(path);
    if (why) *why = network.empty() ? "a local file system" : "the database is on a network file system (" + network + ")";
    return network.empty() ? JournalMode::Wal : JournalMode::Rollback;
}

} // namespace srigl::sessions
