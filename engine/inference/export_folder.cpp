// Staging an export folder beside its target, what an earlier export there may hold, and the swap.
#include "engine/inference/export_folder.hpp"

#include "engine/errors.hpp"
#include "engine/runtime/durable_file.hpp"
#include "engine/runtime/partial_files.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace srigl {
namespace {

namespace fs = std::filesystem;

std::string reason(int err) { return std::strerror(err); }

// `.<name>.srigl-partial-<this pid>-<n>` beside the target (engine/runtime/partial_files.hpp):
// concurrent exports never share one.
fs::path stagingNameBeside(const fs::path& target) {
    return target.parent_path() / partialName(target.filename().string(), "");
}

// "out/" names the folder out; a link at the end is followed, so that an export through a link
// replaces the folder it points to and the link stays.
fs::path resolveTarget(const std::string& target) {
    std::error_code ec, absent; // a target that does not exist yet is no error
    fs::path p = fs::absolute(target, ec).lexically_normal();
    if (!ec && !p.has_filename()) p = p.parent_path();
    if (!ec && fs::is_symlink(fs::symlink_status(p, absent))) p = fs::weakly_canonical(p, ec);
    if (ec || target.empty() || !p.has_filename()) throw InferenceError("cannot export to '" + target + "'");
    return p;
}

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void collectNpyNames(const nlohmann::json& value, std::set<std::string>& names) {
    if (value.is_string()) {
        const auto& s = value.get_ref<const std::string&>();
        if (endsWith(s, ".npy")) names.insert(fs::path(s).lexically_normal().string());
    } else if (value.is_structured()) {
        for (const auto& item : value) collectNpyNames(item, names);
    }
}

struct HeldExport {
    bool isExport = false;
    std::string stranger; // a file in it that the export does not account for; "" when none
};

// Replacing a folder deletes everything in it, so an earlier export may be replaced only when all it
// holds is its own: the files its manifest lists, manifest.json (and the .tmp an older version wrote
// first), check_*.npy and .npy files in features/ (ours by place, also those a version that wrote in
// place left). Anything else is the user's.
HeldExport inspectHeldExport(const fs::path& dir) {
    HeldExport held;
    std::set<std::string> listed;
    std::ifstream in(dir / "manifest.json");
    if (!in) return held;
    try {
        nlohmann::json manifest;
        in >> manifest;
        if (!manifest.is_object() || manifest.value("format", "") != kCondensedFormat) return held;
        collectNpyNames(manifest, listed);
    } catch (const nlohmann::json::exception&) {
        return held;
    }
    held.isExport = true;
    auto isOwnFile = [&](const std::string& name, const fs::file_status& status) {
        if (listed.count(name) || name == "manifest.json" || name == "manifest.json.tmp") return true;
        if (startsWith(name, "check_")) return endsWith(name, ".npy") && name.find('/') == std::string::npos;
        return startsWith(name, "features/") && endsWith(name, ".npy") && fs::is_regular_file(status);
    };
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().lexically_relative(dir).string();
        std::error_code typeError;
        const fs::file_status status = it->symlink_status(typeError); // a link is judged as a link
        const bool ours = fs::is_directory(status) ? name == "features" : isOwnFile(name, status);
        if (!ours || typeError) {
            held.stranger = name;
            return held;
        }
    }
    if (ec) held.stranger = "files it cannot read (" + ec.message() + ")";
    return held;
}

// fsync: the rename must not make visible a folder whose files a power cut could still empty.
void syncPath(const fs::path& path, bool folder) {
    if (const int err = folder ? syncFolder(path.string()) : syncFile(path.string()))
        throw InferenceError("cannot write " + path.string() + ": " + reason(err));
}

void syncTree(const fs::path& root) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
        syncPath(it->path(), it->is_directory());
    if (ec) throw InferenceError("cannot read " + root.string() + ": " + ec.message());
    syncPath(root, true);
}

} // namespace

StagedFolder::StagedFolder(const std::string& target, bool overwrite)
    : target_(target), real_(resolveTarget(target)), overwrite_(overwrite) {
    replacesAnExport(); // refuse before anything is written
    std::error_code ec;
    fs::create_directories(real_.parent_path(), ec);
    if (ec) throw InferenceError("cannot create " + real_.parent_path().string() + ": " + ec.message());
    // A killed export (SIGKILL, a power cut) cannot remove its staging folder: the next one does.
    removeAbandonedPartials(real_.parent_path(), real_.filename().string(), "");
    // Beside the target, so that a rename (same file system) puts it in place.
    for (int attempt = 0;; ++attempt) {
        staging_ = stagingNameBeside(real_);
        if (::mkdir(staging_.c_str(), 0777) == 0) break;
        if (errno != EEXIST || attempt == 100)
            throw InferenceError("cannot create a folder beside " + target_ + ": " + reason(errno));
    }
}

StagedFolder::~StagedFolder() {
    if (!committed_) removeStagingFolder(staging_);
}

bool StagedFolder::replacesAnExport() const {
    std::error_code ec;
    const fs::file_status status = fs::status(real_, ec); // through a link
    if (status.type() == fs::file_type::not_found) return false;
    if (ec) throw InferenceError("cannot inspect " + target_ + ": " + ec.message());
    if (!fs::is_directory(status)) throw InferenceError(target_ + " exists and is not a folder");
    const bool empty = fs::is_empty(real_, ec);
    if (ec) throw InferenceError("cannot read " + target_ + ": " + ec.message());
    if (empty) return false;
    if (!overwrite_)
        throw InferenceError(target_ +
                             " exists and is not empty; choose a new folder (or --force to replace an earlier export)");
    const HeldExport held = inspectHeldExport(real_);
    if (!held.isExport)
        throw InferenceError(target_ +
                             " holds files that are not a SRigL condensed export; choose a new or empty folder");
    if (!held.stranger.empty())
        throw InferenceError(target_ + " holds " + held.stranger +
                             ", which is not part of its SRigL condensed export and would be deleted with it; move it "
                             "away or choose a new or empty folder");
    return true;
}

void StagedFolder::commit() {
    syncTree(staging_);
    // Checked again: the target may have changed while the files were written.
    if (!replacesAnExport()) {
        // rename(2) replaces an empty folder atomically, and fails if one with files appeared meanwhile.
        if (std::rename(staging_.c_str(), real_.c_str()) != 0)
            throw InferenceError("cannot move the export into " + target_ + ": " + reason(errno));
    } else {
        std::error_code ec;
        fs::permissions(staging_, fs::status(real_, ec).permissions(), ec); // the folder keeps its mode
        if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, real_.c_str(), RENAME_EXCHANGE) != 0) {
            const int err = errno;
            if (err != EINVAL && err != ENOSYS && err != ENOTSUP)
                throw InferenceError("cannot replace " + target_ + ": " + reason(err));
            // This file system cannot exchange (some network and FUSE ones): move the old export aside,
            // then the new one in. A kill between the two renames leaves no folder at the target and the
            // old export (being replaced anyway) under a staging name, which the next export removes: a
            // short window, the best two renames can do.
            const fs::path aside = stagingNameBeside(real_);
            if (std::rename(real_.c_str(), aside.c_str()) != 0)
                throw InferenceError("cannot replace " + target_ + ": " + reason(errno));
            if (std::rename(staging_.c_str(), real_.c_str()) != 0) {
                const int moveErr = errno;
                std::rename(aside.c_str(), real_.c_str());
                throw InferenceError("cannot replace " + target_ + ": " + reason(moveErr));
            }
            staging_ = aside;
        }
        // The old export, now under the staging name. Were this to fail, the folder is left to the
        // next export, which removes it once this process is gone.
        removeStagingFolder(staging_);
    }
    committed_ = true;
    syncFolder(real_.parent_path().string()); // the rename itself; the export is in place either way
}

} // namespace srigl
