// The error of a data-parallel run: a collective failed (a worker died or stopped answering within
// the timeout), or the ranks disagree on something that must be identical (masks).
#pragma once

#include <stdexcept>

namespace srigl {

class DistributedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace srigl
