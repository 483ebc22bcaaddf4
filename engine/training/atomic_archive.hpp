// Torch archives in checkpoint files: serialized straight into the checksummed container
// (checkpoint_file.hpp), written atomically; read back only after the checksums pass. A full
// disk or a damaged file is a CheckpointError, never an abort or a silently wrong resume.
#pragma once

#include "engine/training/checkpoint_file.hpp"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <string>

namespace srigl {

// Throws CheckpointError naming the path; `path` keeps its previous content on failure.
void saveArchiveAtomically(torch::serialize::OutputArchive& archive, const std::string& path,
                           const CheckpointHeader& header = {});

// Verifies `path` and loads its archive (tensors on the CPU). Returns the container's header
// (empty for a legacy file). Throws CheckpointError naming the path.
CheckpointHeader loadArchive(torch::serialize::InputArchive& archive, const std::string& path);

} // namespace srigl
