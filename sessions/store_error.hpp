// The error every failure of the session store raises: what went wrong, with the database path.
#pragma once

#include <stdexcept>
#include <string>

namespace srigl::sessions {

class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace srigl::sessions
