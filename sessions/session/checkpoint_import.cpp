// Snapshots are recorded through the store's own calls and codecs (masks, weight statistics and
// active weights, as the recorder writes them at every mask update), never by SQL of their own.
#include "sessions/session/checkpoint_import.hpp"
#include "sessions/mask/mask_bits.hpp"

#include "engine/config/text_check.hpp"
#include "engine/errors.hpp"
#include "engine/interop/checkpoint_layers.hpp"
#include "sessions/session/run_description.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/weight_codec.hpp"
#include "sessions/store/weight_stats.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

namespace srigl::sessions {
namespace {

struct LoadedFile {
    std::string path;
    int64_t step = 0;
    std::vector<interop::CheckpointLayer> layers;
};


// Pruned and regrown entries of `now` against `before` (same shape), as a mask update reports them.
void countChanges(const LayerMaskSnapshot& before, const LayerMaskSnapshot& now, LayerUpdateStats& stats) {
    const int64_t n = now.outFeatures * now.fanIn;
    for (int64_t i = 0; i < n; ++i) {
        const bool was = maskKept(before, i), is = maskKept(now, i);
        if (was && !is) ++stats.pruned;
        if (!was && is) ++stats.regrown;
    }
    stats.sad = stats.pruned + stats.regrown;
}

// File names may hold any byte but NUL: as a run name, tag or note (one line of UTF-8 text in the
// store) their control characters and stray bytes are written as escapes, never refused.
std::string fileName(const std::string& path) { return printableText(std::filesystem::path(path).filename().string()); }

// Every file must hold the first one's layers (names and shapes): they are snapshots of one model.
void requireSameLayers(const LoadedFile& first, const LoadedFile& other) {
    auto describe = [](const LoadedFile& f) {
        std::string text;
        for (const auto& l : f.layers) {
            text += (text.empty() ? "" : ", ") + l.name + " [";
            for (size_t d = 0; d < l.shape.size(); ++d) text += (d ? "x" : "") + std::to_string(l.shape[d]);
            text += "]";
        }
        return text;
    };
    const std::string a = describe(first), b = describe(other);
    if (a != b)
        throw CheckpointError(other.path + ": its layers (" + b + ") are not those of " + first.path + " (" + a +
                              "); import checkpoints of one model together");
}

std::vector<LoadedFile> loadAll(const std::vector<std::string>& files, const ImportFileStep& beforeFile) {
    if (files.empty()) throw ConfigError("files", "no checkpoint file given");
    std::vector<LoadedFile> loaded;
    for (size_t i = 0; i < files.size(); ++i) {
        if (beforeFile) beforeFile(i, files.size(), files[i]);
        loaded.push_back({files[i], stepFromFileName(files[i]), interop::readCheckpointLayers(files[i])});
    }
    std::set<int64_t> steps;
    for (const auto& f : loaded) steps.insert(f.step);
    const bool named = steps.size() == loaded.size() && *steps.begin() >= 0;
    if (named)
        std::stable_sort(loaded.begin(), loaded.end(), [](const LoadedFile& a, const LoadedFile& b) { return a.step < b.step; });
    else
        for (size_t i = 0; i < loaded.size(); ++i) loaded[i].step = static_cast<int64_t>(i);
    for (size_t i = 1; i < loaded.size(); ++i) requireSameLayers(loaded.front(), loaded[i]);
    return loaded;
}

void record(RunStore& store, int64_t runId, const std::vector<LoadedFile>& files, ImportResult& result) {
    std::vector<MaskRecord> masks;
    std::vector<WeightStatsRecord> stats;
    std::vector<WeightValuesRecord> values;
    for (size_t f = 0; f < files.size(); ++f) {
        ImportedSnapshot snapshot{files[f].path, files[f].step, {}, {}};
        for (size_t l = 0; l < files[f].layers.size(); ++l) {
            const auto& layer = files[f].layers[l];
            LayerUpdateStats layerStats = layer.stats;
            if (f > 0) countChanges(files[f - 1].layers[l].mask, layer.mask, layerStats);
            masks.push_back({files[f].step, layer.mask, layerStats});
            WeightValuesRecord v{files[f].step, layer.name, activeWeights(layer.weights, layer.mask)};
            stats.push_back({files[f].step, computeWeightStats(layer.name, v.values)});
            values.push_back(std::move(v));
            snapshot.layers.push_back(layerStats);
            snapshot.maskSources.push_back(layer.maskSource);
        }
        result.snapshots.push_back(std::move(snapshot));
    }
    store.addMasks(runId, masks);
    store.addWeightStats(runId, stats);
    store.addWeightValues(runId, values);
}

} // namespace

int64_t stepFromFileName(const std::string& file) {
    const std::string stem = std::filesystem::path(file).stem().string();
    const size_t end = stem.find_last_of("0123456789");
    if (end == std::string::npos) return -1;
    size_t start = end;
    while (start > 0 && std::isdigit(static_cast<unsigned char>(stem[start - 1]))) --start;
    const std::string digits = stem.substr(start, end - start + 1);
    if (digits.size() > 15) return -1; // not a step count
    return std::stoll(digits);
}

ImportResult importCheckpoints(const ImportRequest& request, const ImportFileStep& beforeFile) {
    // Checked before any file is read (the run's JSON config would only fail once they all were).
    if (!isValidUtf8(request.name))
        throw ConfigError("name", "is not valid UTF-8: '" + quoteForMessage(request.name) + "'; nothing was recorded");
    const std::vector<LoadedFile> files = loadAll(request.files, beforeFile);
    const auto& last = files.back();
    std::vector<LayerUpdateStats> lastLayers;
    for (const auto& l : last.layers) lastLayers.push_back(l.stats);

    RunConfig config;
    config.name = request.name.empty() ? fileName(files.front().path) : request.name;
    config.method = "imported";
    config.model = "imported";
    config.dataset = "";
    config.sparsity = reachedSparsity(lastLayers);
    NewRun run = describeRun(config);
    run.sparsity = config.sparsity;

    ImportResult result;
    result.sparsity = config.sparsity;
    RunStore store(request.dbPath);
    // The whole run is one transaction: a failed write, a lock held past the busy timeout, Ctrl-C
    // or a kill leaves nothing, where separate writes left a run without snapshots (listed as
    // interrupted). Another import waits for this one's lock instead of failing after 5 s.
    store.database().setBusyTimeout(30000);
    Transaction tx(store.database());
    result.runId = store.createRun(run);
    record(store, result.runId, files, result);
    store.setTags(result.runId, {"imported", "source:" + fileName(files.front().path)});
    std::string notes = "imported from";
    for (const auto& f : files) notes += "\n" + printableText(std::filesystem::absolute(f.path).string());
    store.setNotes(result.runId, notes);
    store.finishRun(result.runId, RunStatus::Imported, last.step, -1.0);
    tx.commit();
    return result;
}

} // namespace srigl::sessions
