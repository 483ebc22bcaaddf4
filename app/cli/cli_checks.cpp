#include "cli_checks.hpp"

#include "engine/config/text_check.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <system_error>

namespace srigl::cli {
namespace {

// The value as typed, for the message: short, and with control characters shown as \xNN (it is
// echoed to a terminal).
std::string quotedValue(const std::string& value) { return "'" + quoteForMessage(value, 40) + "'"; }

std::string wholeNumberRule(int64_t min) {
    if (min == 1) return "a positive whole number";
    if (min == 0) return "a whole number, 0 or more";
    return "a whole number, at least " + std::to_string(min);
}

} // namespace

CLI::Validator wholeNumberAtLeast(int64_t min) {
    const std::string rule = wholeNumberRule(min);
    return CLI::Validator(
        [min, rule](std::string& value) -> std::string {
            // Decimal digits with an optional sign, as people write counts; from_chars takes no '+'.
            const char* first = value.data();
            const char* last = value.data() + value.size();
            if (first != last && *first == '+') ++first;
            int64_t n = 0;
            const auto [end, ec] = std::from_chars(first, last, n);
            if (ec == std::errc::result_out_of_range)
                return "must be " + rule + ", got " + quotedValue(value) +
                       (value[0] == '-' ? " (too small)" : " (too large)");
            if (ec != std::errc() || end != last || first == last || n < min)
                return "must be " + rule + ", got " + quotedValue(value);
            return {};
        },
        min == 1   ? "POSITIVE"
        : min == 0 ? "NONNEGATIVE"
                   : "INT>=" + std::to_string(min));
}

CLI::Validator positiveWholeNumber() { return wholeNumberAtLeast(1); }

CLI::Validator nonNegativeWholeNumber() { return wholeNumberAtLeast(0); }

CLI::Validator idNumber() {
    CLI::Validator v = wholeNumberAtLeast(1);
    v.description("ID");
    return v;
}

namespace {

// Both number checks: strtod's whole-string parse (what CLI11 itself accepts for a double, 1e-3
// included), then the bound. NaN and infinity are refused: no option means them.
CLI::Validator numberAbove(bool allowZero) {
    const std::string rule = allowZero ? "a number, 0 or more" : "a positive number";
    return CLI::Validator(
        [allowZero, rule](std::string& value) -> std::string {
            char* end = nullptr;
            const double x = value.empty() ? 0.0 : std::strtod(value.c_str(), &end);
            const bool parsed = !value.empty() && end == value.c_str() + value.size() && std::isfinite(x);
            if (!parsed || (allowZero ? x < 0.0 : x <= 0.0)) return "must be " + rule + ", got " + quotedValue(value);
            return {};
        },
        allowZero ? "NONNEGATIVE" : "POSITIVE");
}

} // namespace

CLI::Validator positiveNumber() { return numberAbove(false); }

CLI::Validator nonNegativeNumber() { return numberAbove(true); }

} // namespace srigl::cli
