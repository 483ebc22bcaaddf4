// `srigl export ID|CHECKPOINT --condensed DIR`.
#include "export_command.hpp"

#include "output_file.hpp"

#include "engine/errors.hpp"
#include "engine/inference/condensed_export.hpp"
#include "engine/interop/pytorch_export.hpp"
#include "engine/models/torchscript_model.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "sessions/session/recorded_run.hpp"
#include "sessions/store/run_store.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace srigl::cli {

void addExportCommand(CLI::App& app, ExportOptions& o) {
    auto* cmd = app.add_subcommand("export", "export a trained model condensed (values + indices, .npy + manifest) or "
                                             "as a PyTorch state_dict with masks");
    cmd->add_option("source", o.source, "a recorded run's id (its last checkpoint) or a checkpoint file")->required();
    auto* condensed = cmd->add_option("--condensed", o.condensed, "folder to write the condensed model to");
    auto* pytorch = cmd->add_option("--pytorch", o.pytorch,
                                    "file to write the model to as a state_dict (weights and <layer>.mask) for torch.load, "
                                    "with a check pair beside it in <name>.check.pt (and, for a model=torchscript run, "
                                    "the trained module in <name>.script.pt)");
    condensed->excludes(pytorch);
    cmd->add_option("--db", o.db, "database of the run (default: $SRIGL_DB or the per-user one)");
    cmd->add_flag("--force", o.force,
                  "replace an earlier condensed export in the folder, whole (a folder holding anything else is "
                  "refused), or the --pytorch file");
    cmd->add_flag("--json", o.json, "print a JSON summary");
}

namespace {

// The state_dict and, beside it, the check pair scripts/check_pytorch_export.py compares with.
int exportPyTorch(const ExportOptions& o, CheckpointModel& loaded) {
    const auto tensors = interop::sparseStateDict(*loaded.model);
    const std::string checkFile = interop::checkPathFor(o.pytorch);
    // A model=torchscript run: also the user's module itself, its sparse weights in place. Its file is
    // checked with the others, before anything is written.
    auto* scripted = asTorchScript(*loaded.model);
    const std::string scriptFile = scripted ? interop::scriptPathFor(o.pytorch) : "";
    if (scripted) requireOutputFile(scriptFile, o.force, "--force replaces it (the module beside " + o.pytorch + ")");
    interop::writePyTorchStateDict(o.pytorch, tensors);
    interop::writePyTorchStateDict(checkFile, interop::checkPair(*loaded.model, inputShapeOf(loaded.config.dataset)));
    if (scripted) scripted->saveScripted(scriptFile);
    int64_t sparseLayers = static_cast<int64_t>(loaded.model->sparseLayers().size());
    if (o.json) {
        nlohmann::json names = nlohmann::json::array();
        for (const auto& t : tensors) names.push_back(t.name);
        std::cout << nlohmann::json{{"file", o.pytorch}, {"check", checkFile}, {"step", loaded.step},
                                    {"model", loaded.config.model}, {"hidden", loaded.config.hidden},
                                    {"sparse_layers", sparseLayers}, {"tensors", names}, {"script", scriptFile}}
                         .dump()
                  << std::endl;
    } else {
        std::printf("srigl export: %s (%s) at step %lld -> %s: %zu tensors, %lld sparse layers with <layer>.mask; "
                    "check pair in %s\n",
                    o.source.c_str(), loaded.config.model.c_str(), static_cast<long long>(loaded.step), o.pytorch.c_str(),
                    tensors.size(), static_cast<long long>(sparseLayers), checkFile.c_str());
        if (!scriptFile.empty()) std::printf("  the trained TorchScript module (torch.jit.load) in %s\n", scriptFile.c_str());
    }
    return 0;
}

} // namespace

int runExport(const ExportOptions& o) {
    try {
        if (o.condensed.empty() && o.pytorch.empty())
            throw InferenceError("say what to write: --condensed FOLDER or --pytorch FILE.pt");
        if (!o.pytorch.empty()) {
            // The check pair beside the file is written too: without --force it is kept like the file
            // itself (it was overwritten silently), and nothing that is not a plain file is replaced.
            requireOutputFile(o.pytorch, o.force, "--force replaces it");
            requireOutputFile(interop::checkPathFor(o.pytorch), o.force,
                              "--force replaces it (the check pair beside " + o.pytorch + ")");
        }
        ExportSource source;
        std::string checkpoint = o.source;
        const bool isId = !o.source.empty() && o.source.find_first_not_of("0123456789") == std::string::npos;
        if (isId) {
            sessions::RunStore store(o.db.empty() ? sessions::defaultDatabasePath() : o.db, sessions::RunStore::Mode::ReadOnly);
            source.runId = std::stoll(o.source);
            store.run(source.runId); // a clear error for an unknown id
            const auto last = store.lastCheckpoint(source.runId);
            if (!last) {
                const bool imported = store.run(source.runId).status == sessions::RunStatus::Imported;
                throw InferenceError("run " + o.source + " has no checkpoint to export" +
                                     (imported ? " (an imported run: its model is the file it was imported from)" : ""));
            }
            checkpoint = last->second;
        }
        // A state_dict holds dense weights; the condensed export also takes layers too large to expand.
        CheckpointModel loaded =
            loadCheckpointModel(checkpoint, o.pytorch.empty() ? BeyondDense::KeepCondensed : BeyondDense::Refuse);
        if (!o.pytorch.empty()) return exportPyTorch(o, loaded);
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
        std::fprintf(stderr, "srigl export: %s\n", sessions::errorMessage(e).c_str());
        return 2;
    }
}

} // namespace srigl::cli
