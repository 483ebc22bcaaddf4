// Files the command line writes at a path the user names (export --pytorch and its companions, runs
// render --out): checked before any work, so nothing in the way is replaced, deleted or blocked on.
#pragma once

#include <string>

namespace srigl::cli {

// Throws std::runtime_error naming `path` when sessions::outputTargetProblem refuses it (a folder,
// or anything but a regular file: a device such as /dev/full, a FIFO, a socket), whatever
// `mayReplace` says. An existing regular file is refused too unless `mayReplace`, with
// `replaceHint` (e.g. "--force replaces it") in the message.
void requireOutputFile(const std::string& path, bool mayReplace, const std::string& replaceHint = "");

} // namespace srigl::cli
