// The `srigl` commands that train or time kernels. They run in the compute environment (OpenMP's
// passive wait, malloc's huge pages: engine/runtime/compute_environment.hpp), which the front end
// sets before it starts srigl-engine and srigl-engine re-executes itself into when started alone;
// the other commands skip both.
#pragma once

#include <string>

namespace srigl::cli {

inline bool commandComputes(const std::string& command) {
    return command == "train" || command == "sweep" || command == "bench" || command == "convert";
}

} // namespace srigl::cli
