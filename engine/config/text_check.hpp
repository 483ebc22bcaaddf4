// Checks on text that users hand in and messages quote back: valid UTF-8 (the store's JSON and
// the Studio read every field as UTF-8), and bounded quoting so a huge value never floods an error
// message. Header-only and free of Torch: the store (which does not link the engine) uses it too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace srigl {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF).
inline bool isValidUtf8(std::string_view text) {
    const auto* p = reinterpret_cast<const uint8_t*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        const uint8_t c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

// `text` for an error message: at most `limit` bytes (cut on a character boundary, with the total
// length said), invalid UTF-8 bytes and control characters shown as \xNN.
inline std::string quoteForMessage(std::string_view text, size_t limit = 80) {
    std::string out;
    size_t i = 0;
    static const char* hex = "0123456789abcdef";
    while (i < text.size() && out.size() < limit) {
        const auto c = static_cast<uint8_t>(text[i]);
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len > 1 && i + len <= text.size() && isValidUtf8(text.substr(i, len))) {
            out.append(text.substr(i, len));
            i += len;
            continue;
        }
        if (c >= 0x20 && c < 0x7F) out.push_back(static_cast<char>(c));
        else {
            out += "\\x";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
        ++i;
    }
    if (i < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
    return out;
}

} // namespace srigl
