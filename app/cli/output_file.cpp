// Checks on the output paths the command line writes to.
#include "output_file.hpp"

#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace srigl::cli {

void requireOutputFile(const std::string& path, bool mayReplace, const std::string& replaceHint) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec); // a link is judged by what it points to
    if (!fs::exists(st)) return;
    if (fs::is_directory(st)) throw std::runtime_error(path + " is a folder; name a file to write");
    if (!fs::is_regular_file(st))
        throw std::runtime_error(path + " exists and is not a regular file (a device, FIFO or socket); refusing to "
                                        "write to it");
    if (!mayReplace) throw std::runtime_error(path + " exists" + (replaceHint.empty() ? "" : "; " + replaceHint));
}

} // namespace srigl::cli
