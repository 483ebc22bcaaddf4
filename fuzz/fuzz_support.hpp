// Helpers shared by the libFuzzer targets and their seed writer: gzip in memory, fixed-width fields
// taken off the front of an input, and a crash that libFuzzer records when an invariant breaks.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace srigl::fuzz {

// A broken invariant (not an expected error): abort, so libFuzzer saves the input as a crash.
inline void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
}

// One gzip member holding `size` bytes (deflate level 6, as gzip(1) writes).
inline std::vector<uint8_t> gzipBytes(const uint8_t* data, size_t size) {
    z_stream z{};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
    std::vector<uint8_t> out(deflateBound(&z, static_cast<uLong>(size)) + 32);
    z.next_in = const_cast<uint8_t*>(data);
    z.avail_in = static_cast<uInt>(size);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

// Runs `parse`: its result, or nothing when it throws Error, whose message must then name `name`
// (unless `name` is empty). Any other exception escapes, and libFuzzer records it as a crash.
template <typename Error, typename Parse>
auto parsedOrRefused(std::string_view name, Parse parse) -> std::optional<decltype(parse())> {
    try {
        return parse();
    } catch (const Error& e) {
        require(std::string_view(e.what()).find(name) != std::string_view::npos, "the message names the input");
        return std::nullopt;
    }
}

// Parses the input, and when it is not gzip already, its gzip too: both paths of a reader must
// accept the same inputs and yield the same content.
template <typename Parse>
void requireGzipAgrees(const uint8_t* data, size_t size, Parse parse, const char* what) {
    const auto plain = parse(data, size);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return;
    const std::vector<uint8_t> gz = gzipBytes(data, size);
    require(parse(gz.data(), gz.size()) == plain, what);
}

// Reads fixed-width little-endian fields off the front of a fuzz input; missing bytes read as zero.
class InputCursor {
public:
    InputCursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    template <typename T>
    T take() {
        T value{};
        const size_t n = std::min(sizeof(T), size_ - pos_);
        if (n > 0) std::memcpy(&value, data_ + pos_, n);
        pos_ += n;
        return value;
    }
    std::vector<uint8_t> takeBytes(size_t n) {
        n = std::min(n, size_ - pos_);
        std::vector<uint8_t> out(data_ + pos_, data_ + pos_ + n);
        pos_ += n;
        return out;
    }
    std::vector<uint8_t> rest() { return takeBytes(size_ - pos_); }

private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

} // namespace srigl::fuzz
