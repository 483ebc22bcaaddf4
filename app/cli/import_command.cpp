// `srigl import`: the files' layers, where each mask came from, and the run they became.
#include "import_command.hpp"

#include "printable_text.hpp"

#include "sessions/session/checkpoint_import.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/session/recorded_run.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace srigl::cli {

void addImportCommand(CLI::App& app, ImportOptions& o) {
    auto* cmd = app.add_subcommand(
        "import", "record PyTorch checkpoints (torch.save of a state_dict) as a run whose masks the Studio shows");
    cmd->add_option("files", o.files,
                    "checkpoint files of one model; several (step_100.pt step_200.pt ...) become one run with a "
                    "snapshot per file, at the step in each file name")
        ->required();
    cmd->add_option("--db", o.db, "database to record the run in (default: $SRIGL_DB or the per-user one)");
    cmd->add_option("--name", o.name, "name of the run (default: the first file's name)");
    cmd->add_flag("--json", o.json, "print the result as one JSON object");
}

int runImport(const ImportOptions& o) {
    try {
        sessions::ImportRequest request;
        request.dbPath = o.db.empty() ? sessions::defaultDatabasePath() : o.db;
        request.files = o.files;
        request.name = o.name;
        const sessions::ImportResult result = sessions::importCheckpoints(request);
        if (o.json) {
            nlohmann::json snapshots = nlohmann::json::array();
            for (const auto& s : result.snapshots) {
                nlohmann::json layers = nlohmann::json::array();
                for (size_t i = 0; i < s.layers.size(); ++i) {
                    const auto& l = s.layers[i];
                    layers.push_back({{"name", l.name}, {"shape", l.shape}, {"sparsity", l.sparsity}, {"k", l.k},
                                      {"fan_in_min", l.fanInMin}, {"fan_in_max", l.fanInMax}, {"active", l.active},
                                      {"ablated", l.ablated}, {"pruned", l.pruned}, {"regrown", l.regrown},
                                      {"sad", l.sad}, {"mask_source", s.maskSources[i]}});
                }
                snapshots.push_back({{"file", s.file}, {"step", s.step}, {"layers", layers}});
            }
            std::cout << printableJson(nlohmann::json{{"run_id", result.runId}, {"status", "imported"},
                                                      {"sparsity", result.sparsity}, {"snapshots", snapshots}}
                                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
                      << std::endl;
            return 0;
        }
        // Names come from the files (any bytes): an escape sequence in a layer's name must not
        // drive the terminal.
        for (const auto& s : result.snapshots) {
            std::printf("%s: step %lld\n", printableText(s.file).c_str(), static_cast<long long>(s.step));
            for (size_t i = 0; i < s.layers.size(); ++i) {
                const auto& l = s.layers[i];
                std::printf("  %-16s %6lld x %-6lld sparsity %5.1f%%  fan-in %lld..%lld%s  ablated %lld", printableText(l.name).c_str(),
                            static_cast<long long>(l.outFeatures), static_cast<long long>(l.fanIn), 100.0 * l.sparsity,
                            static_cast<long long>(l.fanInMin), static_cast<long long>(l.fanInMax),
                            l.k > 0 ? " (constant)" : "", static_cast<long long>(l.ablated));
                if (&s != &result.snapshots.front()) std::printf("  SAD %lld", static_cast<long long>(l.sad));
                std::printf("  mask: %s\n", printableText(s.maskSources[i]).c_str());
            }
        }
        std::printf("recorded as run %lld (imported, %.1f%% sparse)\n", static_cast<long long>(result.runId),
                    100.0 * result.sparsity);
        return 0;
    } catch (const std::exception& e) {
        // Messages quote layer names from the files: shown, never obeyed by the terminal.
        std::fprintf(stderr, "srigl import: %s\n", printableLines(sessions::errorMessage(e)).c_str());
        return 2;
    }
}

} // namespace srigl::cli
