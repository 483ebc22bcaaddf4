// The names of the temporaries that the all-or-nothing writers (condensed exports' StagedFolder, the
// Studio's VideoFile and FrameFolder) make beside their target, and the removal of those a killed
// writer left behind. Part of srigl_durable_file: Torch-free, shared by the engine and the Studio.
//
// A temporary is named `.<name>.srigl-partial-<pid>-<n><ext>` (hidden; <name><ext> the target's
// file name, <pid> the writer's process, <n> a count within it; ext is empty for a staging
// folder). A cancel, an error or a full disk removes it, but SIGKILL or a power cut cannot, so
// every new writer for a target first removes that target's temporaries whose pid is gone
// (kill(pid, 0) fails with ESRCH). Chosen over a lock file or a fixed name: no second file to leave
// behind, concurrent writers never share a name, and a temporary of a live process (even another
// user's: EPERM) is never touched, nor is anything not named exactly so. Limits: a recycled pid
// keeps a leftover until that process ends, and a writer in another pid namespace or on another
// machine sharing the folder looks dead - its temporary may be removed, and its commit then fails
// with the old target kept.
#pragma once

#include <filesystem>
#include <string>

namespace srigl {

// `.<name>.srigl-partial-<this pid>-<n><ext>`, a new <n> each call.
std::string partialName(const std::string& name, const std::string& ext);

// Removes from `folder` the temporaries of the target <name><ext> (regular files when ext is not
// empty, else staging folders; links are never followed) whose writer is dead.
void removeAbandonedPartials(const std::filesystem::path& folder, const std::string& name, const std::string& ext);

// Removes a staging folder and everything in it; a link in it is removed, never followed.
void removeStagingFolder(const std::filesystem::path& folder);

} // namespace srigl
