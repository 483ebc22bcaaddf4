// Writes that are on the disk when they are reported done: every byte taken (a short write is
// continued, EINTR retried) and folders synced after a rename. Torch-free and its own small library
// (srigl_durable_file), shared by checkpoints, condensed exports and the Studio's PNG sequences.
#pragma once

#include <cstddef>
#include <string>

namespace srigl {

// 0 when all `size` bytes went to `fd`, else the errno (EIO for a write that took nothing).
int writeFully(int fd, const void* data, size_t size);

// fsync of the folder `path`, so that the names created or renamed in it survive a power cut.
// 0, or the errno; EINVAL (a file system that cannot sync) counts as done.
int syncFolder(const std::string& path);
// fsync of the file `path` (written and closed by whoever made it), before a rename makes it
// visible. 0, or the errno; EINVAL counts as done, as for syncFolder.
int syncFile(const std::string& path);

} // namespace srigl
