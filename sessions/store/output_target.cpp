// What is at an output path, and why it may not be written.
#include "sessions/store/output_target.hpp"

#include <filesystem>
#include <system_error>

namespace srigl::sessions {

OutputTarget outputTarget(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec); // follows links
    if (!fs::exists(st)) return OutputTarget::Absent;
    if (fs::is_directory(st)) return OutputTarget::Folder;
    return fs::is_regular_file(st) ? OutputTarget::RegularFile : OutputTarget::Special;
}

std::string outputTargetProblem(const std::string& path, const std::string& folderAdvice,
                                const std::string& specialAdvice) {
    switch (outputTarget(path)) {
    case OutputTarget::Folder: return "is a folder; " + folderAdvice;
    case OutputTarget::Special:
        return "exists and is not a regular file (a device, FIFO or socket); " + specialAdvice;
    default: return "";
    }
}

} // namespace srigl::sessions
