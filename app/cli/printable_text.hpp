// Stored text made safe to print on a terminal, for the CLI: printableText and printableLines
// for one text (engine/config/text_check.hpp, shared with the store), printableJson for a whole
// JSON document.
#pragma once

#include "engine/config/text_check.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace srigl::cli {

// JSON written by nlohmann::json without ensure_ascii escapes C0 controls but writes DEL and C1
// controls raw; this rewrites those as \u escapes. The document means the same to any JSON reader
// (the bytes occur only inside strings), while a terminal showing it sees no control character.
inline std::string printableJson(std::string_view json) {
    std::string out;
    out.reserve(json.size());
    for (size_t i = 0; i < json.size(); ++i) {
        const auto c = static_cast<uint8_t>(json[i]);
        if (c == 0x7F) {
            out += "\\u007f";
        } else if (c == 0xC2 && i + 1 < json.size() && static_cast<uint8_t>(json[i + 1]) >= 0x80 &&
                   static_cast<uint8_t>(json[i + 1]) <= 0x9F) {
            text_detail::appendHex(out, "\\u", static_cast<uint8_t>(json[i + 1]), 4);
            ++i;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out;
}

} // namespace srigl::cli
