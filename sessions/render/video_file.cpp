// Videos written to a temporary file and renamed into place once whole.
#include "sessions/render/video_file.hpp"

#include "engine/runtime/partial_files.hpp"
#include "sessions/store/output_target.hpp"
#include "sessions/store/store_error.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <system_error>
#include <unistd.h>

namespace srigl::sessions {
namespace {

namespace fs = std::filesystem;

std::string lowerExtension(const fs::path& p) {
    std::string ext = p.extension().string();
    for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return ext;
}

uint64_t readLe32(const unsigned char* b) {
    return uint64_t(b[0]) | uint64_t(b[1]) << 8 | uint64_t(b[2]) << 16 | uint64_t(b[3]) << 24;
}

uint64_t readBe(const unsigned char* b, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | b[i];
    return v;
}

// Whether the top-level chunks (AVI: RIFF then AVIX lists) or boxes (MP4: ... moov ...) the file
// announces end exactly at its end. The writers patch the sizes at the start last, from what they
// meant to write, so a write that failed on the way leaves a file shorter than announced (and an
// MP4 without its moov box, written at the end).
bool containerIsWhole(const std::string& file, const std::string& ext) {
    std::error_code ec;
    const uint64_t size = fs::file_size(file, ec);
    if (ec || size == 0) return false;
    std::ifstream in(file, std::ios::binary);
    unsigned char head[16];
    uint64_t at = 0;
    bool moov = false;
    while (at < size) {
        in.seekg(static_cast<std::streamoff>(at));
        if (size - at < 8 || !in.read(reinterpret_cast<char*>(head), 8)) return false;
        uint64_t next = 0;
        if (ext == ".avi") {
            if (std::memcmp(head, "RIFF", 4) != 0) return false;
            const uint64_t n = readLe32(head + 4);
            next = at + 8 + n + (n & 1);
        } else {
            uint64_t n = readBe(head, 4);
            moov |= std::memcmp(head + 4, "moov", 4) == 0;
            if (n == 1) { // a 64-bit size follows the type
                if (size - at < 16 || !in.read(reinterpret_cast<char*>(head + 8), 8)) return false;
                n = readBe(head + 8, 8);
            } else if (n == 0) {
                n = size - at; // the last box runs to the end of the file
            }
            if (n < 8) return false;
            next = at + n;
        }
        if (next > size || next <= at) return false;
        at = next;
    }
    return ext == ".avi" || moov;
}

} // namespace

VideoFile::VideoFile(const std::string& path) : path_(path), target_(path) {
    const std::string problem =
        outputTargetProblem(path, "name a video file (.mp4, .avi)", "refusing to write a video to it");
    if (!problem.empty()) throw StoreError(path + ": " + problem);
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (fs::exists(st)) {
        const fs::path real = fs::canonical(path, ec);
        if (!ec) target_ = real;
    }
    // What a killed writer of this same video left (partial_files.hpp says why by pid).
    const std::string stem = target_.stem().string(), ext = target_.extension().string();
    removeAbandonedPartials(target_.parent_path(), stem, ext);
    for (int attempt = 0; attempt < 100 && tmp_.empty(); ++attempt) {
        const fs::path name = target_.parent_path() / partialName(stem, ext);
        const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            ::close(fd);
            tmp_ = name.string();
        } else if (errno != EEXIST) {
            throw StoreError(path + ": cannot write a video beside it: " + std::strerror(errno));
        }
    }
    if (tmp_.empty()) throw StoreError(path + ": cannot find a free temporary name beside it");
    if (fs::exists(st)) fs::permissions(tmp_, st.permissions(), ec); // the replaced file's permissions stay
}

VideoFile::~VideoFile() {
    if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

void VideoFile::commit() {
    const std::string ext = lowerExtension(target_);
    if ((ext == ".avi" || ext == ".mp4" || ext == ".mov") && !containerIsWhole(tmp_, ext))
        throw StoreError(path_ + ": the video could not be written whole (is the disk full?); nothing was replaced");
    const int fd = ::open(tmp_.c_str(), O_RDONLY | O_CLOEXEC);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    const int syncError = errno;
    if (fd >= 0) ::close(fd);
    if (!synced) throw StoreError(path_ + ": cannot write the video: " + std::strerror(syncError));
    if (::rename(tmp_.c_str(), target_.c_str()) != 0)
        throw StoreError(path_ + ": cannot replace it: " + std::strerror(errno));
    committed_ = true;
}

} // namespace srigl::sessions
