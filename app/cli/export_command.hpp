// `srigl export`: a recorded run's (or a checkpoint's) trained model, condensed, as .npy files and
// a JSON manifest that NumPy and PyTorch read (docs/condensed_format.md).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace srigl::cli {

struct ExportOptions {
    std::string source; // a run id or a checkpoint file
    std::string condensed;
    std::string db;
    bool force = false;
    bool json = false;
};

void addExportCommand(CLI::App& app, ExportOptions& options);
// Exit code: 0 written, 2 bad input (unknown run, not constant fan-in, folder in the way).
int runExport(const ExportOptions& options);

} // namespace srigl::cli
