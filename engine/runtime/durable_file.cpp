// Full writes and folder syncs on plain file descriptors.
#include "engine/runtime/durable_file.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace srigl {

int writeFully(int fd, const void* data, size_t size) {
    const char* at = static_cast<const char*>(data);
    while (size > 0) {
        // At most 1 GiB per call: Linux takes no more than about 2 GiB in one write anyway.
        const ssize_t n = ::write(fd, at, std::min<size_t>(size, size_t{1} << 30));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n == 0 ? EIO : errno;
        at += n;
        size -= static_cast<size_t>(n);
    }
    return 0;
}

namespace {

int syncOpened(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0) return errno;
    const int err = ::fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
    ::close(fd);
    return err;
}

} // namespace

int syncFolder(const std::string& path) { return syncOpened(path, O_DIRECTORY); }

int syncFile(const std::string& path) { return syncOpened(path, 0); }

} // namespace srigl
