// `srigl export`: a recorded run's (or a checkpoint's) trained model, condensed, as .npy files and
// a JSON manifest that NumPy and PyTorch read (docs/condensed_format.md), or as a PyTorch state_dict
// with masks that torch.load reads (docs/your_model.md).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace srigl::cli {

struct ExportOptions {
    std::string source; // a run id or a checkpoint file
    std::string condensed;
    std::string pytorch; // a .pt file: the state_dict with masks (engine/interop/pytorch_export.hpp)
    std::string db;
    bool force = false;
    bool json = false;
};

void addExportCommand(CLI::App& app, ExportOptions& options);
// Exit code: 0 written, 2 bad input (unknown run, not constant fan-in, folder in the way).
int runExport(const ExportOptions& options);

} // namespace srigl::cli
