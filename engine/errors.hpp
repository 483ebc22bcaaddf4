// Error types of the engine: each says what went wrong in words a user can act on.
#pragma once

#include <stdexcept>
#include <string>

namespace srigl {

// A RunConfig value is wrong; key names the offending config key.
class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string key, const std::string& message)
        : std::runtime_error(key.empty() ? message : key + ": " + message), key_(std::move(key)) {}
    const std::string& key() const { return key_; }

private:
    std::string key_;
};

// A data file is missing, truncated or corrupt.
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A checkpoint cannot be read or does not match the run.
class CheckpointError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A layer or model cannot be condensed or run as asked (not constant fan-in, mismatched shapes).
class InferenceError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace srigl
