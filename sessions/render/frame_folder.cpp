// Frames staged in a hidden folder and moved into place only when all of them are on disk.
#include "sessions/render/frame_folder.hpp"

#include "engine/runtime/durable_file.hpp"
#include "engine/runtime/partial_files.hpp"
#include "sessions/store/output_target.hpp"
#include "sessions/store/store_error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace srigl::sessions {

namespace fs = std::filesystem;

FrameFolder::FrameFolder(const std::string& folder) : path_(folder) {
    std::string trimmed = folder;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    std::error_code ec;
    target_ = fs::absolute(trimmed, ec);
    if (ec) throw StoreError(folder + ": cannot find the folder: " + ec.message());
    std::string name = target_.filename().string();
    if (name.empty() || name == "." || name == "..") name = "frames";
    const OutputTarget kind = outputTarget(target_.string());
    if (kind != OutputTarget::Absent && kind != OutputTarget::Folder)
        throw StoreError(folder + ": exists and is not a folder; name a folder for the PNG sequence");
    inside_ = kind == OutputTarget::Folder;
    const fs::path parent = target_.parent_path();
    if (!inside_) {
        for (fs::path p = parent; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
            made_.insert(made_.begin(), p);
            if (p == p.parent_path()) break;
        }
        for (const fs::path& p : made_)
            if (::mkdir(p.c_str(), 0777) != 0 && errno != EEXIST) {
                const int error = errno;
                for (auto it = made_.rbegin(); it != made_.rend(); ++it) ::rmdir(it->c_str());
                made_.clear();
                throw StoreError(folder + ": cannot create the folder " + p.string() + ": " + std::strerror(error));
            }
    }
    // What a killed writer of this same folder left, beside it and (when it exists) in it.
    removeAbandonedPartials(parent, name, "");
    if (inside_) removeAbandonedPartials(target_, name, "");
    const fs::path home = inside_ ? target_ : parent;
    int error = EEXIST;
    for (int attempt = 0; attempt < 100 && error == EEXIST; ++attempt) {
        staging_ = home / partialName(name, "");
        error = ::mkdir(staging_.c_str(), 0777) == 0 ? 0 : errno;
    }
    if (error != 0) {
        staging_.clear();
        for (auto it = made_.rbegin(); it != made_.rend(); ++it) ::rmdir(it->c_str());
        made_.clear();
        throw StoreError(folder + ": cannot create a staging folder in " + home.string() + ": " + std::strerror(error));
    }
}

FrameFolder::~FrameFolder() {
    if (committed_) return;
    if (!staging_.empty()) removeStagingFolder(staging_);
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) ::rmdir(it->c_str()); // only while empty
}

void FrameFolder::add(const std::string& name, const std::vector<uint8_t>& bytes) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
        throw StoreError(path_ + ": '" + name + "' is not a file name for a frame");
    if (inside_) {
        const std::string problem = outputTargetProblem((target_ / name).string(), "the PNG sequence was not written",
                                                        "the PNG sequence was not written");
        if (!problem.empty()) throw StoreError((fs::path(path_) / name).string() + ": " + problem);
    }
    const fs::path file = staging_ / name;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    int error = fd < 0 ? errno : writeFully(fd, bytes.data(), bytes.size());
    if (error == 0 && ::fsync(fd) != 0) error = errno;
    if (fd >= 0 && ::close(fd) != 0 && error == 0) error = errno;
    if (error != 0) throw StoreError(path_ + ": cannot write " + name + ": " + std::strerror(error) + "; nothing was replaced");
    names_.push_back(name);
}

void FrameFolder::commit() {
    if (const int error = syncFolder(staging_.string()))
        throw StoreError(path_ + ": cannot write the frames: " + std::strerror(error));
    if (inside_) {
        // Checked again just before: something may have appeared at a frame's name since add().
        for (const std::string& name : names_) {
            const std::string problem = outputTargetProblem((target_ / name).string(), "the PNG sequence was not written",
                                                            "the PNG sequence was not written");
            if (!problem.empty()) throw StoreError((fs::path(path_) / name).string() + ": " + problem);
        }
        // One rename per frame: each is atomic, the set is not. Only a failed rename or a kill in
        // this short loop (no writing, all in one folder) leaves some frames new and some old.
        for (const std::string& name : names_)
            if (::rename((staging_ / name).c_str(), (target_ / name).c_str()) != 0)
                throw StoreError(path_ + ": cannot put " + name + " in place: " + std::strerror(errno));
        committed_ = true;
        ::rmdir(staging_.c_str());
        syncFolder(target_.string());
        return;
    }
    if (::rename(staging_.c_str(), target_.c_str()) != 0)
        throw StoreError(path_ + ": cannot create it: " + std::strerror(errno));
    committed_ = true;
    syncFolder(target_.parent_path().string());
}

} // namespace srigl::sessions
