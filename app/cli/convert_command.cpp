// `srigl convert`: loads the run's last checkpoint, converts it (engine/conversion/nm_conversion.hpp) with
// the first training batches as calibration set, and records the result as a new run.
#include "convert_command.hpp"

#include "cli_checks.hpp"
#include "progress_bar.hpp"

#include "engine/config/text_check.hpp"
#include "engine/data/batch_sampler.hpp"
#include "engine/data/dataset.hpp"
#include "engine/errors.hpp"
#include "engine/conversion/converted_checkpoint.hpp"
#include "engine/conversion/nm_conversion.hpp"
#include "engine/nm/nm_mask.hpp"
#include "engine/nm/transposable_mask.hpp"
#include "engine/runtime/threading.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "sessions/session/run_description.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"
#include "sessions/session/recorded_run.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <iostream>
#include <memory>

namespace srigl::cli {

void addConvertCommand(CLI::App& app, ConvertOptions& o) {
    auto* cmd = app.add_subcommand("convert", "convert a trained run to N:M or transposable N:M without training");
    cmd->add_option("run", o.run, "id of the recorded run whose last checkpoint is converted")->required();
    cmd->add_option("--nm", o.nm, "pattern N:M: N weights kept in every M consecutive inputs (e.g. 2:4)")->required();
    cmd->add_flag("--transposable", o.transposable, "transposable N:M (every M x M tile keeps N per row and column)");
    cmd->add_flag("--greedy", o.greedy, "transposable: greedy tiles with repair instead of the optimal solver");
    cmd->add_option("--db", o.db, "database of the run (default: $SRIGL_DB or the per-user one)");
    cmd->add_flag("--json", o.json, "print the result as one JSON object");
    cmd->add_option("--calibration-batches", o.calibrationBatches, "training batches used as calibration set (default 8)");
    cmd->add_option("--batch-size", o.batchSize, "calibration batch size (default: the run's)")->check(positiveWholeNumber());
    cmd->add_flag("--no-absorb", o.noAbsorb, "skip mean absorption (stage 2)");
    cmd->add_flag("--no-reconstruct", o.noReconstruct, "skip per-layer reconstruction (stage 3)");
    cmd->add_flag("--no-bn", o.noBn, "skip batch-norm re-estimation (stage 4)");
    cmd->add_option("--skip", o.skip, "layer to leave as it is (repeatable), e.g. a classifier with few inputs");
    cmd->add_option("--damping", o.damping, "reconstruction ridge term relative to the mean input energy (default 1e-4)");
    cmd->add_option("--max-direct", o.maxDirect,
                    "reconstruction: rows keeping more inputs than this (bias included) are refit by conjugate gradient "
                    "instead of a dense solve (default 1536)");
    cmd->add_option("--refit-iterations", o.refitIterations, "conjugate gradient: iteration cap per block of rows (default 50)");
    cmd->add_option("--refit-tolerance", o.refitTolerance,
                    "conjugate gradient: relative residual (of the diagonally scaled system) at which a row stops (default 1e-6)");
    cmd->add_option("--data-dir", o.dataDir, "folder of the dataset files (default: the run's data_dir)");
    cmd->add_option("--threads", o.threads, "threads (default: one per core)");
    cmd->add_option("--name", o.name, "name of the new run");
}

namespace {

double testAccuracy(SparseModelImpl& model, const BatchSampler& sampler, int64_t testSize) {
    torch::NoGradGuard noGrad;
    int64_t correct = 0;
    for (int64_t i = 0; i < sampler.testBatches(); ++i) {
        const Batch b = sampler.testBatch(i, torch::kCPU);
        correct += model.forward(b.inputs).argmax(1).eq(b.targets).sum().item<int64_t>();
    }
    return testSize > 0 ? static_cast<double>(correct) / static_cast<double>(testSize) : 0.0;
}

std::vector<sessions::MaskRecord> maskRecords(SparseModelImpl& model, int64_t step) {
    std::vector<sessions::MaskRecord> out;
    for (const auto& named : model.sparseLayers()) {
        sessions::MaskRecord r;
        r.step = step;
        auto m = named.layer->maskMatrix().to(torch::kCPU).contiguous();
        r.mask.name = named.name;
        r.mask.outFeatures = m.size(0);
        r.mask.fanIn = m.size(1);
        const bool* bits = m.data_ptr<bool>();
        r.mask.bits.assign(static_cast<size_t>((m.numel() + 7) / 8), 0);
        for (int64_t i = 0; i < m.numel(); ++i)
            if (bits[i]) r.mask.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
        const auto counts = m.sum(1);
        r.stats.name = named.name;
        r.stats.shape = named.layer->weight.sizes().vec();
        r.stats.outFeatures = m.size(0);
        r.stats.fanIn = m.size(1);
        r.stats.sparsity = 1.0 - m.to(torch::kDouble).mean().item<double>();
        r.stats.active = (counts > 0).sum().item<int64_t>();
        r.stats.ablated = r.stats.outFeatures - r.stats.active;
        r.stats.fanInMin = counts.min().item<int64_t>();
        r.stats.fanInMax = counts.max().item<int64_t>();
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace

int runConvert(const ConvertOptions& o) {
    std::unique_ptr<ProgressBar> bar;
    try {
        nm::ConversionOptions options;
        options.pattern = nm::parseNm(o.nm);
        options.transposable = o.transposable;
        options.exactSolver = !o.greedy;
        options.absorbMean = !o.noAbsorb;
        options.reconstruct = !o.noReconstruct;
        options.reestimateBatchNorm = !o.noBn;
        options.skipLayers = o.skip;
        options.threads = o.threads;
        options.reconstruction.damping = o.damping;
        // NaN passed `< 0` and reached the solver; infinity silently turned reconstruction off.
        if (!(o.damping >= 0) || !std::isfinite(o.damping)) throw ConfigError("damping", "must be a finite number >= 0");
        options.reconstruction.maxDirect = o.maxDirect;
        if (o.maxDirect < 0) throw ConfigError("max-direct", "must be >= 0");
        options.reconstruction.iterative.maxIterations = o.refitIterations;
        if (o.refitIterations < 1) throw ConfigError("refit-iterations", "must be at least 1");
        options.reconstruction.iterative.tolerance = o.refitTolerance;
        if (!(o.refitTolerance >= 0)) throw ConfigError("refit-tolerance", "must be >= 0");
        if (o.calibrationBatches < 1)
            throw DataError("empty calibration set: --calibration-batches must be at least 1");
        // As training's `threads` key: a negative count meant "one per core" unsaid, and 100000
        // threads never finished starting.
        if (o.threads < 0 || o.threads > 1024) throw ConfigError("threads", "must be in [0, 1024] (0: one per core)");
        // The name is stored after the conversion: a bad one is refused before that work.
        if (!isOneLineText(o.name))
            throw ConfigError("name", "'" + quoteForMessage(o.name) + "' is not one line of UTF-8 text");
        int64_t runId = 0;
        const auto parsed = std::from_chars(o.run.data(), o.run.data() + o.run.size(), runId);
        if (o.run.empty() || o.run.find_first_not_of("0123456789") != std::string::npos || parsed.ec != std::errc())
            throw ConfigError("run", "'" + quoteForMessage(o.run) + "' is not a run id");
        const std::string dbPath = o.db.empty() ? sessions::defaultDatabasePath() : o.db;
        // The run must exist: a mistyped --db is not created as an empty database.
        sessions::RunStore store(dbPath, sessions::RunStore::Mode::ReadWriteExisting);
        sessions::RunInfo source;
        try {
            source = store.run(runId);
        } catch (const sessions::StoreError&) {
            throw ConfigError("run", "no run " + o.run + " in " + dbPath);
        }
        const auto last = store.lastCheckpoint(runId);
        if (!last) throw CheckpointError("run " + o.run + " has no checkpoint to convert");
        configureThreads(o.threads);

        CheckpointModel loaded = loadCheckpointModel(last->second);
        nm::checkConvertible(*loaded.model, options);
        const RunConfig& cfg = loaded.config;
        const Dataset data = loadDataset(cfg.dataset, o.dataDir.empty() ? cfg.data_dir : o.dataDir, cfg.seed,
                                         cfg.synthetic_train, cfg.synthetic_test);
        const int64_t batchSize = o.batchSize > 0 ? o.batchSize : cfg.batch_size;
        const BatchSampler sampler(data, batchSize, cfg.seed, /*dropLast=*/true);
        const int64_t calibrationCount = std::min(o.calibrationBatches, sampler.batchesPerEpoch());
        if (calibrationCount < 1)
            throw DataError("empty calibration set: the training split has fewer than " + std::to_string(batchSize) +
                            " samples (try a smaller --batch-size)");
        std::vector<torch::Tensor> calibration;
        for (int64_t i = 0; i < calibrationCount; ++i) calibration.push_back(sampler.trainBatch(0, i, torch::kCPU).inputs);

        bar = std::make_unique<ProgressBar>(5);
        const auto report = nm::convertToNm(
            *loaded.model, calibration, [&] { return testAccuracy(*loaded.model, sampler, data.test.size()); }, options,
            [&](const std::string& stage, int done, int) { bar->update(done, stage, true); });
        bar->finish();
        bar.reset();

        bool valid = true;
        for (const auto& named : loaded.model->sparseLayers()) {
            if (std::find(o.skip.begin(), o.skip.end(), named.name) != o.skip.end()) continue;
            // As training's nm_valid: transposable masks are checked as (padded) tiles.
            valid = valid && (o.transposable ? nm::transposableValid(named.layer->mask, options.pattern)
                                             : nm::nmValid(named.layer->mask, options.pattern));
        }
        if (!valid) throw std::logic_error("a converted mask is not valid " + options.pattern.toString());

        // Record the converted model as a run of its own.
        RunConfig converted = cfg;
        converted.method = o.transposable ? "nm_transposable" : "nm_ste";
        converted.nm = options.pattern.toString();
        converted.nm_solver = o.greedy ? "greedy_repair" : "exact";
        converted.sparsity = 1.0 - options.pattern.density();
        converted.name = !o.name.empty() ? o.name
                                         : (source.name.empty() ? "run " + o.run : source.name) + " -> " +
                                               options.pattern.toString() + (o.transposable ? "-T" : "");
        const double finalAccuracy = report.stages.back().testAccuracy;
        // The new run is one transaction: a checkpoint that cannot be written, a failed insert,
        // Ctrl-C or a kill leaves no run without a checkpoint behind (it listed as interrupted).
        sessions::Transaction tx(store.database());
        const int64_t newId = store.createRun(sessions::describeRun(converted));
        const std::string uuid = store.run(newId).uuid;
        const std::string checkpoint = sessions::defaultCheckpointPath(dbPath, newId, uuid);
        converted.checkpoint = checkpoint;
        struct RemoveUnlessKept { // the checkpoint of a run that was rolled back belongs to no run
            const std::string& path;
            bool keep = false;
            ~RemoveUnlessKept() {
                std::error_code ec;
                if (!keep) std::filesystem::remove(path, ec);
            }
        } written{checkpoint};
        nm::saveModelCheckpoint(checkpoint, converted, *loaded.model, loaded.step, uuid);
        store.addCheckpoint(newId, loaded.step, checkpoint);
        std::vector<sessions::Metric> metrics;
        for (const auto& s : report.stages) {
            metrics.push_back({loaded.step, "convert_" + s.name + "_accuracy", s.testAccuracy});
            metrics.push_back({loaded.step, "convert_" + s.name + "_logit_error", s.logitError});
        }
        metrics.push_back({loaded.step, "test_accuracy", finalAccuracy});
        store.addMetrics(newId, metrics);
        store.addMasks(newId, maskRecords(*loaded.model, loaded.step));
        std::vector<std::string> tags = {"converted-from:" + o.run, "nm:" + options.pattern.toString()};
        if (o.transposable) tags.push_back("transposable");
        store.setTags(newId, tags);
        store.finishRun(newId, sessions::RunStatus::Finished, loaded.step, finalAccuracy);
        tx.commit();
        written.keep = true;

        if (o.json) {
            nlohmann::json stages = nlohmann::json::array();
            for (const auto& s : report.stages)
                stages.push_back({{"name", s.name}, {"applied", s.applied}, {"note", s.note},
                                  {"test_accuracy", s.testAccuracy}, {"logit_error", s.logitError},
                                  {"masks_valid", s.masksValid}, {"seconds", s.seconds}});
            nlohmann::json layers = nlohmann::json::array();
            for (const auto& l : report.layers)
                layers.push_back({{"name", l.name}, {"shape", l.shape}, {"converted", l.converted},
                                  {"reconstructed", l.reconstructed}, {"iterative", l.iterative},
                                  {"cg_iterations", l.iterations}, {"cg_residual", l.relativeResidual},
                                  {"density_before", l.densityBefore},
                                  {"kept_magnitude", l.keptMagnitude}, {"error_before", l.errorBefore},
                                  {"error_after", l.errorAfter}, {"log10_diversity", l.log10Diversity}});
            std::cout << nlohmann::json{{"source_run", runId}, {"run_id", newId}, {"nm", options.pattern.toString()},
                                        {"transposable", o.transposable}, {"calibration_samples", calibrationCount * batchSize},
                                        {"checkpoint", checkpoint}, {"nm_valid", valid}, {"batch_norms", report.batchNorms},
                                        {"stages", stages}, {"layers", layers}}
                             .dump()
                      << std::endl;
        } else {
            std::printf("srigl convert: run %s (%s, %s) -> %s%s, %lld calibration samples\n", o.run.c_str(),
                        cfg.method.c_str(), cfg.model.c_str(), options.pattern.toString().c_str(),
                        o.transposable ? " transposable" : "", static_cast<long long>(calibrationCount * batchSize));
            std::printf("  %-12s %9s %12s %8s  %s\n", "stage", "test acc", "logit err", "seconds", "note");
            for (const auto& s : report.stages)
                std::printf("  %-12s %8.2f%% %12.4g %8.2f  %s%s\n", s.name.c_str(), 100.0 * s.testAccuracy, s.logitError,
                            s.seconds, s.applied ? "" : "skipped: ", s.note.c_str());
            for (const auto& l : report.layers) {
                if (!l.converted) {
                    std::printf("  %-8s left as it is\n", l.name.c_str());
                    continue;
                }
                std::printf("  %-8s density %.3f -> %.3f, kept |w| %.1f%%, log10 MD %.1f", l.name.c_str(), l.densityBefore,
                            options.pattern.density(), 100.0 * l.keptMagnitude, l.log10Diversity);
                if (l.reconstructed)
                    std::printf(", calibration error %.4g -> %.4g%s", l.errorBefore, l.errorAfter, l.iterative ? " (CG)" : "");
                std::printf("\n");
            }
            std::printf("  masks valid: %s; recorded as run %lld (%s)\n", valid ? "yes" : "NO", static_cast<long long>(newId),
                        checkpoint.c_str());
        }
        return 0;
    } catch (const std::exception& e) {
        if (bar) bar->finish();
        std::fprintf(stderr, "srigl convert: %s\n", sessions::errorMessage(e).c_str());
        return 2;
    }
}

} // namespace srigl::cli
