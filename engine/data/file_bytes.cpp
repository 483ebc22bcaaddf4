// Whole-file reading through zlib, which passes plain files through unchanged ("transparent" mode).
#include "engine/data/file_bytes.hpp"

#include "engine/errors.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

namespace srigl {

namespace {

struct GzCloser {
    void operator()(gzFile_s* f) const { gzclose(f); }
};

// zlib's error text, without the "path: " prefix it adds, since our message starts with the path.
std::string gzMessage(gzFile_s* file, const std::string& path)
{
    int code = Z_OK;
    const char* what = gzerror(file, &code);
    std::string text = what ? what : "";
    if (text.compare(0, path.size() + 2, path + ": ") == 0)
        text.erase(0, path.size() + 2);
    return text.empty() ? "read error" : text;
}

} // namespace

std::vector<uint8_t> readFileBytes(const std::string& path)
{
    std::error_code ec;
    const auto onDisk = std::filesystem::file_size(path, ec);
    if (ec)
        throw DataError(path + ": cannot read: " + ec.message());

    errno = 0;
    std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
    if (!file) {
        const std::string why = errno != 0 ? std::strerror(errno) : "out of memory";
        throw DataError(path + ": cannot open: " + why);
    }
    // A 1 MiB zlib buffer instead of the default 8 KiB makes large batch files read noticeably faster.
    gzbuffer(file.get(), 1u << 20);

    std::vector<uint8_t> bytes;
    constexpr unsigned kChunk = 1u << 22;
    // Room for a plain file plus the final empty read, so it is read without reallocation; a gzip
    // stream grows the buffer geometrically.
    bytes.reserve(static_cast<size_t>(onDisk) + kChunk);
    for (;;) {
        const size_t used = bytes.size();
        bytes.resize(used + kChunk);
        const int got = gzread(file.get(), bytes.data() + used, kChunk);
        if (got < 0) {
                        throw DataError(path + ": corrupt compressed data: " + gzMessage(file.get(), path));
        }
        bytes.resize(used + static_cast<size_t>(got));
        if (got == 0)
            break;
    }
    // gzread stops quietly at a cut-off gzip stream; gzerror then reports the premature end.
    int code = Z_OK;
    gzerror(file.get(), &code);
    if (code != Z_OK && code != Z_STREAM_END)
        throw DataError(path + ": corrupt compressed data: " + gzMessage(file.get(), path));
    return bytes;
}

bool isRegularFile(const std::string& path)
{
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

bool isDirectory(const std::string& path)
{
    std::error_code ec;
    return std::filesystem::is_directory(path, ec);
}

} // namespace srigl
