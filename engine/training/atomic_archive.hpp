// Writes a Torch archive to a temporary file, then renames it into place: a crash or a full disk
// never leaves half a checkpoint where a resumable one was.
#pragma once

#include <torch/serialize/output-archive.h>

#include <string>

namespace srigl {

// Throws CheckpointError naming the path; the temporary file is removed on failure.
void saveArchiveAtomically(torch::serialize::OutputArchive& archive, const std::string& path);

} // namespace srigl
