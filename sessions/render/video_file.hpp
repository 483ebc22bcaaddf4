// A video file written all or nothing: OpenCV writes a temporary file beside the one it replaces,
// which is renamed over it only when the finished file is whole, so a cancel, an error or a full
// disk keeps the old file (OpenCV's writers ignore failed writes and leave a truncated video). The
// temporary is `.<stem>.srigl-partial-<pid>-<n><ext>`; one a killed writer left is removed by the
// next VideoFile of the same path (engine/runtime/partial_files.hpp).
#pragma once

#include <filesystem>
#include <string>

namespace srigl::sessions {

class VideoFile {
public:
    // Throws StoreError when outputTargetProblem refuses `path` (a folder, a device, a FIFO, a
    // socket; a link is judged by what it points to): OpenCV opens the path itself (a FIFO blocks
    // until a reader comes) and the rename would replace a device node with a file. Removes the
    // temporaries of this path whose writer is dead.
    explicit VideoFile(const std::string& path);
    ~VideoFile(); // removes the temporary file unless committed
    VideoFile(const VideoFile&) = delete;
    VideoFile& operator=(const VideoFile&) = delete;

    // Where OpenCV writes; it ends in the same extension, which picks the container.
    const std::string& temporary() const { return tmp_; }
    // Checks that the container (AVI, MP4) is whole, syncs it and renames it over the path (over
    // the file a link names, so the link stays). Throws StoreError naming the path otherwise.
    void commit();

private:
    std::string path_;
    std::filesystem::path target_;
    std::string tmp_;
    bool committed_ = false;
};

} // namespace srigl::sessions
