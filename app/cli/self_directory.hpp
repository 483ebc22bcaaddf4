// Where this executable lives, so that srigl finds srigl-engine (and `srigl launch` finds srigl)
// beside it whatever the current directory and PATH are.
#pragma once

#include <string>

namespace srigl::cli {

// The directory of /proc/self/exe (not of argv[0], which may be a name found through PATH); "."
// when it cannot be read.
std::string selfDirectory();

} // namespace srigl::cli
