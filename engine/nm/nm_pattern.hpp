// An N:M pattern ("2:4" = keep 2 of every 4 consecutive weights along the input dimension) and its
// parser. In this project N counts the weights KEPT (the transposable paper counts zeros instead).
#pragma once

#include <string>

namespace srigl::nm {

struct NmPattern {
    int n = 2; // kept per group
    int m = 4; // group size

    double density() const { return static_cast<double>(n) / m; }
    std::string toString() const { return std::to_string(n) + ":" + std::to_string(m); }
};

// Parses "N:M" with 1 <= N < M <= 1024 (whitespace around the numbers allowed). Throws
// srigl::ConfigError with key "nm" and a message naming the problem.
NmPattern parseNm(const std::string& text);

} // namespace srigl::nm
