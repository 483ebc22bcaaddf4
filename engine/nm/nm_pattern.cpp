// Parser for "N:M" patterns; strict so that a typo in a config is reported, not guessed at.
#include "engine/nm/nm_pattern.hpp"

#include "engine/errors.hpp"

#include <cctype>

namespace srigl::nm {

namespace {

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

// A plain decimal number; std::stoi would accept "2x" or "+2" and silently drop the rest.
bool parseCount(const std::string& s, int& value) {
    if (s.empty() || s.size() > 6) return false;
    value = 0;
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        value = value * 10 + (c - '0');
    }
    return true;
}

} // namespace

NmPattern parseNm(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos)
        throw ConfigError("nm", "expected N:M such as 2:4, got '" + text + "'");
    NmPattern p;
    if (!parseCount(trim(text.substr(0, colon)), p.n) || !parseCount(trim(text.substr(colon + 1)), p.m))
        throw ConfigError("nm", "N and M must be whole numbers, got '" + text + "'");
    if (p.m < 2 || p.m > 1024) throw ConfigError("nm", "M must be between 2 and 1024, got " + std::to_string(p.m));
    if (p.n < 1 || p.n >= p.m)
        throw ConfigError("nm", "N must satisfy 1 <= N < M (N = weights kept per group), got '" + text + "'");
    return p;
}

} // namespace srigl::nm
