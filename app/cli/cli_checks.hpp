// Checks on command-line numbers with short messages. CLI11's own (PositiveNumber, NonNegativeNumber,
// Range up to the type's limit) name their bounds, which for "any positive number" is DBL_MAX
// written out in 309 digits or INT64_MAX in 19: a wall of digits where "must be positive" is meant.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>

namespace srigl::cli {

// A whole number (decimal, no fraction) of at least `min`. CLI11 puts the option's name in front:
// "--in: must be a positive whole number, got '0'". The value itself is converted by CLI11 after
// this check passes, so an option of a narrower type (int) still reports its own overflow.
CLI::Validator wholeNumberAtLeast(int64_t min);

// Shorthands for the common minimums: counts and sizes (1), indices and paddings (0), and the ids
// the store hands out (from 1, named so in --help).
CLI::Validator positiveWholeNumber();
CLI::Validator nonNegativeWholeNumber();
CLI::Validator idNumber();

// A finite number above zero, fractions allowed (seconds, sizes in MB):
// "--timeout: must be a positive number, got '-1'".
CLI::Validator positiveNumber();

// A finite number of zero or more, fractions allowed.
CLI::Validator nonNegativeNumber();

} // namespace srigl::cli
