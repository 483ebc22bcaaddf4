// LD_PRELOAD shim for the CLI tests: renameat2 refuses RENAME_EXCHANGE with EINVAL, as it does on
// NFS and many FUSE file systems, so that `srigl export --condensed DIR --force` takes its
// two-rename fallback (engine/inference/export_folder.cpp) on this machine's file system. It says
// so on stderr, so that a test knows the fallback ran. Every other rename is the kernel's.
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

extern "C" int renameat2(int oldFolder, const char* oldPath, int newFolder, const char* newPath, unsigned int flags) {
    if (flags & RENAME_EXCHANGE) {
        static const char note[] = "no-rename-exchange shim: RENAME_EXCHANGE refused\n";
        const ssize_t written = ::write(2, note, sizeof note - 1);
        (void)written;
        errno = EINVAL;
        return -1;
    }
    return static_cast<int>(::syscall(SYS_renameat2, oldFolder, oldPath, newFolder, newPath, flags));
}
