// A folder of frames (a PNG sequence) written all or nothing: the frames go to a hidden staging
// folder and reach the folder only when every one of them is written and synced, so a cancel, an
// error, a full disk or a kill leaves the folder as it was (no partial set, no old frame replaced).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace srigl::sessions {

class FrameFolder {
public:
    // When `folder` does not exist, the staging folder is made beside it (the missing folders
    // above it are made too) and renamed to it by commit(). When it exists (a link to a folder
    // counts), the staging folder is made inside it and commit() renames each frame into place,
    // replacing a frame of the same name and keeping every other file. Either way it is named
    // `.<folder's name>.srigl-partial-<pid>-<n>`, and staging folders of this target whose writer
    // is dead are removed first (engine/runtime/partial_files.hpp). Throws StoreError when `folder` exists as
    // anything but a folder or the staging folder cannot be made.
    explicit FrameFolder(const std::string& folder);
    ~FrameFolder(); // unless committed: removes the staging folder and the folders made above it
    FrameFolder(const FrameFolder&) = delete;
    FrameFolder& operator=(const FrameFolder&) = delete;

    // Writes the frame `name` (a file name, no folder) into the staging folder and syncs it.
    // Throws StoreError naming the folder when <folder>/<name> is refused by outputTargetProblem
    // (a folder, a device, a FIFO, a socket) or the frame cannot be written (a full disk).
    void add(const std::string& name, const std::vector<uint8_t>& bytes);
    // Puts the frames in place (see the constructor) and syncs the folder. Throws StoreError.
    void commit();

private:
    std::string path_;             // as the caller named it, for messages
    std::filesystem::path target_; // the folder, absolute, without a trailing separator
    std::filesystem::path staging_;
    bool inside_ = false;          // target_ existed: staging_ is in it
    std::vector<std::filesystem::path> made_; // folders above target_ made for it, the outermost first
    std::vector<std::string> names_;
    bool committed_ = false;
};

} // namespace srigl::sessions
