// Files the command line writes at a path the user names (export --pytorch and its companions, runs
// render --out): checked before any work, so nothing in the way is replaced, deleted or blocked on.
#pragma once

#include <string>

namespace srigl::cli {

// Throws std::runtime_error naming `path` when it is a folder or exists as anything but a regular
// file (a device such as /dev/full, a FIFO, a socket), whatever `mayReplace` says: the writers
// rename a new file over the path (which would replace a device node with a plain file) or remove
// what they could not finish (which would delete it), and opening a FIFO blocks until a reader comes.
// An existing regular file is refused too unless `mayReplace`, with `replaceHint` (e.g. "--force
// replaces it") in the message.
void requireOutputFile(const std::string& path, bool mayReplace, const std::string& replaceHint = "");

} // namespace srigl::cli
