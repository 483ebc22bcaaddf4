// Checks on the output paths the command line writes to.
#include "output_file.hpp"

#include "sessions/store/output_target.hpp"

#include <stdexcept>

namespace srigl::cli {

void requireOutputFile(const std::string& path, bool mayReplace, const std::string& replaceHint) {
    const std::string problem = sessions::outputTargetProblem(path, "name a file to write", "refusing to write to it");
    if (!problem.empty()) throw std::runtime_error(path + " " + problem);
    if (!mayReplace && sessions::outputTarget(path) == sessions::OutputTarget::RegularFile)
        throw std::runtime_error(path + " exists" + (replaceHint.empty() ? "" : "; " + replaceHint));
}

} // namespace srigl::cli
