// The folder a condensed export is written to, all or nothing: the files go into a hidden staging
// folder beside it, which takes its place in one rename only when every file is written and synced.
#pragma once

#include <filesystem>
#include <string>

namespace srigl {

// manifest.json's "format": what marks a folder as an export that --force may replace.
inline constexpr char kCondensedFormat[] = "srigl-condensed";

// A staging folder `.<name>.srigl-partial-<pid>-<n>` beside the target <name>. What the target may
// be: absent or an empty folder; with `overwrite` also an earlier export holding nothing but its
// own files. Anything else (a folder of other files, a file, a device, a FIFO; a link is judged by
// what it points to) is refused, before anything is written and again at commit(), with an
// InferenceError; the target is then left as it was. Staging folders of this target whose writer
// is dead (killed: nothing could remove them) are removed first, those of live writers never.
class StagedFolder {
public:
    StagedFolder(const std::string& target, bool overwrite);
    ~StagedFolder(); // removes the staging folder unless committed
    StagedFolder(const StagedFolder&) = delete;
    StagedFolder& operator=(const StagedFolder&) = delete;

    // Where to write the files.
    const std::filesystem::path& path() const { return staging_; }

    // Syncs every file and folder, then puts the staging folder in the target's place: a rename, or
    // for an earlier export an atomic exchange after which the old export is removed.
    void commit();

private:
    // Throws when the target may not be replaced; true when it is an earlier export to exchange.
    bool replacesAnExport() const;

    std::string target_;         // as the caller named it, for messages
    std::filesystem::path real_; // the target with a link at its end resolved
    std::filesystem::path staging_;
    bool overwrite_;
    bool committed_ = false;
};

} // namespace srigl
