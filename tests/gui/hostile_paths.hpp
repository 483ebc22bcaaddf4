// Export targets a hostile or clumsy user names, made inside a test's temporary folder: a FIFO
// (with a reader held open, so that code which still opens it fails the test instead of hanging
// it), a device node like /dev/full (made here with mknod, so nothing in /dev is ever at risk) and
// a full disk mid-write (RLIMIT_FSIZE: every write past the limit fails, as on a full disk).
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QString>

#include <csignal>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace srigl::test {

inline QByteArray fileBytes(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("<unreadable>");
}

inline bool isFifo(const QString& path) {
    struct stat st {};
    return ::lstat(QFile::encodeName(path).constData(), &st) == 0 && S_ISFIFO(st.st_mode);
}

inline bool isCharDevice(const QString& path) {
    struct stat st {};
    return ::lstat(QFile::encodeName(path).constData(), &st) == 0 && S_ISCHR(st.st_mode);
}

// A FIFO at `path` whose read end stays open (non-blocking, with a 1 MiB buffer) while this lives.
class FifoWithReader {
public:
    explicit FifoWithReader(const QString& path) {
        if (::mkfifo(QFile::encodeName(path).constData(), 0644) != 0) return;
        fd_ = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_NONBLOCK);
        if (fd_ >= 0) ::fcntl(fd_, F_SETPIPE_SZ, 1 << 20);
    }
    ~FifoWithReader() {
        if (fd_ >= 0) ::close(fd_);
    }
    FifoWithReader(const FifoWithReader&) = delete;
    FifoWithReader& operator=(const FifoWithReader&) = delete;
    bool ok() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

// The character device 1,7 (what /dev/full is: every write fails with ENOSPC) at `dir`/full, and
// a link to it at `dir`/`linkName`; returns the link, or an empty string where mknod is not
// allowed (not root).
inline QString fullDeviceLink(const QString& dir, const QString& linkName) {
    const QString node = QDir(dir).filePath(QStringLiteral("full"));
    if (!QFile::exists(node) && ::mknod(QFile::encodeName(node).constData(), S_IFCHR | 0666, makedev(1, 7)) != 0)
        return QString();
    const QString link = QDir(dir).filePath(linkName);
    if (!QFile::link(node, link)) return QString();
    return link;
}

// While this lives, no file of this process may grow beyond `bytes` (writes fail with EFBIG, as
// they fail with ENOSPC on a full disk; SIGXFSZ is ignored so the write returns the error).
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &old_);
        oldHandler_ = std::signal(SIGXFSZ, SIG_IGN);
        rlimit limit = old_;
        limit.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, oldHandler_);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;

private:
    rlimit old_{};
    void (*oldHandler_)(int) = SIG_DFL;
};

// The names in `dir` other than `keep`: temporary files an export left behind.
inline QStringList strayFiles(const QString& dir, const QStringList& keep) {
    QStringList stray;
    for (const QString& name : QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot))
        if (!keep.contains(name)) stray << name;
    return stray;
}

} // namespace srigl::test
