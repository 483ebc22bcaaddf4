// What is at an output path, and why it may not be written.
#include "sessions/store/output_target.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace srigl::sessions {
namespace {

namespace fs = std::filesystem;

// The first bytes of the file at `path` (through links), fewer when it is shorter.
std::string headOf(const std::string& path, size_t size) {
    std::string head(size, '\0');
    std::ifstream in(path, std::ios::binary);
    in.read(head.data(), static_cast<std::streamsize>(size));
    head.resize(in ? size : static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
    return head;
}

bool startsWith(const std::string& s, const char* prefix, size_t size) {
    return s.size() >= size && std::memcmp(s.data(), prefix, size) == 0;
}

bool isSqliteDatabase(const std::string& path) {
    return startsWith(headOf(path, 16), "SQLite format 3\0", 16);
}

} // namespace

OutputTarget outputTarget(const std::string& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec); // follows links
    if (!fs::exists(st)) return OutputTarget::Absent;
    if (fs::is_directory(st)) return OutputTarget::Folder;
    if (!fs::is_regular_file(st)) return OutputTarget::Special;
    return storedDataKind(path).empty() ? OutputTarget::RegularFile : OutputTarget::StoredData;
}

std::string storedDataKind(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::status(path, ec))) return ""; // never opened: a FIFO would block
    const std::string head = headOf(path, 16);
    if (startsWith(head, "SQLite format 3\0", 16)) return "a SQLite database";
    if (startsWith(head, "SRIGLCKP", 8)) return "a SRigL checkpoint";
    if (startsWith(head, "\x37\x7f\x06\x82", 4) || startsWith(head, "\x37\x7f\x06\x83", 4))
        return "the write-ahead log of a SQLite database";
    if (startsWith(head, "\xd9\xd5\x05\xf9\x20\xa1\x63\xd7", 8)) return "a SQLite rollback journal";
    // -shm has no header, and an emptied -wal or -journal none either: judged by the database beside.
    fs::path real = fs::canonical(path, ec); // the name of what a link points to
    if (ec) real = path;
    const std::string name = real.string();
    for (const char* suffix : {"-shm", "-wal", "-journal"}) {
        const size_t n = std::strlen(suffix);
        if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0 &&
            isSqliteDatabase(name.substr(0, name.size() - n)))
            return std::string("a companion file (") + suffix + ") of the SQLite database " + name.substr(0, name.size() - n);
    }
    return "";
}

std::string outputTargetProblem(const std::string& path, const std::string& folderAdvice,
                                const std::string& specialAdvice) {
    switch (outputTarget(path)) {
    case OutputTarget::Folder: return "is a folder; " + folderAdvice;
    case OutputTarget::Special:
        return "exists and is not a regular file (a device, FIFO or socket); " + specialAdvice;
    case OutputTarget::StoredData:
        return "holds " + storedDataKind(path) + "; refusing to replace it (it would be lost): choose another file";
    default: return "";
    }
}

} // namespace srigl::sessions
