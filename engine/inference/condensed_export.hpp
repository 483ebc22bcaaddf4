// Exporting a condensed model as a folder of .npy files and a JSON manifest (docs/condensed_format.md),
// readable by NumPy and PyTorch without SRigL code, and reading it back.
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/inference/condensed_model.hpp"

#include <string>
#include <vector>

namespace srigl {

struct ExportSource {
    RunConfig config;
    int64_t runId = 0; // 0: from a checkpoint file, not a recorded run
    int64_t step = 0;
};

// Writes manifest.json, the classifier's values/indices/bias/row_ids per layer, the feature
// extractor's tensors (CNNs) and a check pair (classifier input and the output it must give).
// All or nothing (export_folder.hpp): `dir` must be new or empty, or with overwrite an earlier export
// holding only its own files, which is then replaced whole; anything else is refused. Throws
// InferenceError, leaving `dir` as it was.
void exportCondensed(const CondensedModel& model, const ExportSource& source, const std::string& dir,
                     bool overwrite = false);

// The classifier layers of an export (for tests and tools); throws InferenceError when the folder is
// not a valid export.
std::vector<CondensedLinear> readCondensedClassifier(const std::string& dir);

} // namespace srigl
