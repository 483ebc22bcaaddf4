// `srigl export ID|CHECKPOINT --condensed DIR`.
#include "export_command.hpp"

#include "engine/errors.hpp"
#include "engine/inference/condensed_export.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "sessions/store/run_store.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace srigl::cli {

void addExportCommand(CLI::App& app, ExportOptions& o) {
    auto* cmd = app.add_subcommand("export", "export a trained model condensed (values + indices, .npy + manifest)");
    cmd->add_option("source", o.source, "a recorded run's id (its last checkpoint) or a checkpoint file")->required();
    cmd->add_option("--condensed", o.condensed, "folder to write the condensed model to")->required();
    cmd->add_option("--db", o.db, "database of the run (default: $SRIGL_DB or the per-user one)");
    cmd->add_flag("--force", o.force, "replace the files of a folder that is not empty");
    cmd->add_flag("--json", o.json, "print a JSON summary");
}

int runExport(const ExportOptions& o) {
    try {
        ExportSource source;
        std::string checkpoint = o.source;
        const bool isId = !o.source.empty() && o.source.find_first_not_of("0123456789") == std::string::npos;
        if (isId) {
            sessions::RunStore store(o.db.empty() ? sessions::defaultDatabasePath() : o.db, sessions::RunStore::Mode::ReadOnly);
            source.runId = std::stoll(o.source);
            store.run(source.runId); // a clear error for an unknown id
            const auto last = store.lastCheckpoint(source.runId);
            if (!last) throw InferenceError("run " + o.source + " has no checkpoint to export");
            checkpoint = last->second;
        }
        CheckpointModel loaded = loadCheckpointModel(checkpoint);
        source.config = loaded.config;
        source.step = loaded.step;
        const CondensedModel condensed(loaded.model);
        exportCondensed(condensed, source, o.condensed, o.force);

        int64_t condensedBytes = 0;
        nlohmann::json layers = nlohmann::json::array();
        for (const auto& l : condensed.layers()) {
            condensedBytes += l.bytes();
            layers.push_back({{"name", l.name}, {"rows", l.rows()}, {"out_features", l.outFeatures}, {"k", l.k},
                              {"in_features", l.inFeatures}, {"index_bits", l.indices16() ? 16 : 32}});
        }
        if (o.json) {
            std::cout << nlohmann::json{{"folder", o.condensed}, {"step", source.step}, {"run_id", source.runId},
                                        {"layers", layers}, {"condensed_bytes", condensedBytes},
                                        {"removed_neurons", condensed.removedNeurons()}}
                             .dump()
                      << std::endl;
        } else {
            std::printf("srigl export: %s at step %lld -> %s\n", o.source.c_str(), static_cast<long long>(source.step),
                        o.condensed.c_str());
            for (const auto& l : condensed.layers())
                std::printf("  %-8s %5lld of %5lld neurons kept, k = %lld of %lld inputs, %s indices\n", l.name.c_str(),
                            static_cast<long long>(l.rows()), static_cast<long long>(l.outFeatures),
                            static_cast<long long>(l.k), static_cast<long long>(l.inFeatures),
                            l.indices16() ? "int16" : "int32");
            std::printf("  classifier: %.1f KiB condensed (%lld ablated neurons removed)\n", condensedBytes / 1024.0,
                        static_cast<long long>(condensed.removedNeurons()));
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "srigl export: %s\n", e.what());
        return 2;
    }
}

} // namespace srigl::cli
