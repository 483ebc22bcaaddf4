// `srigl import FILE [FILE...]`: PyTorch checkpoints trained elsewhere recorded as one run
// (sessions/session/checkpoint_import.hpp), so the Studio and `srigl runs` show their masks.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace srigl::cli {

struct ImportOptions {
    std::vector<std::string> files;
    std::string db;
    std::string name;
    bool json = false;
};

void addImportCommand(CLI::App& app, ImportOptions& options);
// Exit code: 0 recorded, 2 bad input (the message names the file; nothing is recorded).
int runImport(const ImportOptions& options);

} // namespace srigl::cli
