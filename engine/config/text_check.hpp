// Checks on text that users hand in and messages quote back: valid UTF-8 (the store's JSON and
// the Studio read every field as UTF-8), and bounded quoting so a huge value never floods an error
// message. Header-only and free of Torch: the store (which does not link the engine) uses it too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace srigl {

// The length of the well-formed UTF-8 character at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) and its code point; 0 when the bytes there are not one.
inline size_t utf8CharacterAt(std::string_view text, size_t i, uint32_t& cp) {
    const auto c = static_cast<uint8_t>(text[i]);
    size_t len = 0;
    if (c < 0x80) len = 1, cp = c;
    else if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1Fu;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0Fu;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07u;
    else return 0;
    if (i + len > text.size()) return 0;
    for (size_t k = 1; k < len; ++k) {
        const auto b = static_cast<uint8_t>(text[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

// True when `text` is well-formed UTF-8.
inline bool isValidUtf8(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0;
        const size_t len = utf8CharacterAt(text, i, cp);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

// One line of text for a label (a run's name, a tag): valid UTF-8 without C0 controls or DEL.
inline bool isOneLineText(std::string_view text) {
    for (const char c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return isValidUtf8(text);
}

namespace text_detail {

inline void appendHex(std::string& out, const char* prefix, unsigned value, int digits) {
    static const char* hex = "0123456789abcdef";
    out += prefix;
    for (int d = digits - 1; d >= 0; --d) out.push_back(hex[(value >> (4 * d)) & 15]);
}

// `text` with everything a terminal could take as a control shown as an escape, stopping once
// `limit` bytes are written (at a character boundary); `consumed` is how much of text was used.
inline std::string escaped(std::string_view text, bool keepNewlines, size_t limit, size_t& consumed) {
    std::string out;
    size_t i = 0;
    while (i < text.size() && out.size() < limit) {
        const auto c = static_cast<uint8_t>(text[i]);
        uint32_t cp = 0;
        const size_t len = utf8CharacterAt(text, i, cp);
        if (c == '\n' && keepNewlines) out.push_back('\n');
        else if (len == 0 || cp < 0x20 || cp == 0x7F) appendHex(out, "\\x", c, 2); // C0, DEL, not UTF-8: the byte
        else if (cp <= 0x9F && cp >= 0x80) appendHex(out, "\\u", cp, 4); // C1: U+009B is CSI to some terminals
        else out.append(text.substr(i, len));
        i += len == 0 ? 1 : len;
    }
    consumed = i;
    return out;
}

} // namespace text_detail

// Text read from a file or a database (run names, tags, notes, configs, error messages) made safe
// to print on a terminal: printable ASCII and well-formed UTF-8 characters (é, 中) as they are; C0
// controls (tab and newline too, which would break a table's line), DEL and bytes that are not
// UTF-8 as \xNN; C1 controls (U+0080-U+009F) as \u00NN. An ESC in a run name would otherwise drive
// the terminal that lists it (clear the screen, retitle the window).
inline std::string printableText(std::string_view text) {
    size_t used = 0;
    return text_detail::escaped(text, false, std::string::npos, used);
}

// The same for text of several lines (an error message): newlines kept.
inline std::string printableLines(std::string_view text) {
    size_t used = 0;
    return text_detail::escaped(text, true, std::string::npos, used);
}

// `text` for an error message: printableText, at most about `limit` bytes (cut on a character
// boundary, with the total length said).
inline std::string quoteForMessage(std::string_view text, size_t limit = 80) {
    size_t used = 0;
    std::string out = text_detail::escaped(text, false, limit, used);
    if (used < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
    return out;
}

} // namespace srigl
