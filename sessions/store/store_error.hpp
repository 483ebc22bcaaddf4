// The error every failure of the session store raises: what went wrong, with the database path.
#pragma once

#include <stdexcept>
#include <string>

namespace srigl::sessions {

class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A read-only open of a database of an older schema: it must be migrated (opened read-write) once.
class StoreNeedsMigration : public StoreError {
public:
    using StoreError::StoreError;
};

} // namespace srigl::sessions
