// `srigl train`: progress bar on a terminal, JSON lines with --json, clear errors with exit code 2.
#include "train_command.hpp"

#include "cli_checks.hpp"
#include "console_observer.hpp"
#include "json_events.hpp"
#include "progress_bar.hpp"
#include "train_runner.hpp"

#include "engine/distributed/data_parallel.hpp"
#include "engine/distributed/distributed_error.hpp"
#include "engine/distributed/process_group.hpp"
#include "engine/errors.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "engine/training/trainer.hpp"
#include "sessions/session/recorded_run.hpp"
#include "sessions/store/run_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace srigl::cli {
namespace {

std::string keysHelp() {
    std::ostringstream out;
    out << "\nConfig keys (--set key=value, or a JSON object in --config):\n";
    for (const auto& k : configKeys()) {
        std::string def = k.defaultValue.empty() ? "\"\"" : k.defaultValue;
        out << "  " << k.name << std::string(k.name.size() < 18 ? 18 - k.name.size() : 1, ' ') << k.type
            << ", default " << def;
        if (!k.choices.empty()) {
            out << ", one of";
            for (const auto& c : k.choices) out << " " << c;
        }
        out << "\n      " << k.help << "\n";
    }
    return out.str();
}

std::string formatMs(double ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f ms" : ms < 100 ? "%.1f ms" : "%.0f ms", ms);
    return buf;
}

void printSummary(const TrainingSummary& s, const TrainOutcome& outcome) {
    std::printf("\n%s: %s after %lld steps in %s (%.0f samples/s)\n", outcome.method.c_str(),
                toString(s.status).c_str(), static_cast<long long>(s.steps), formatDuration(s.seconds).c_str(),
                s.samplesPerSecond);
    if (!s.message.empty()) std::printf("  %s\n", s.message.c_str());
    std::printf("  test accuracy %.2f%%  test loss %.4f  train loss %.4f\n", 100.0 * s.testAccuracy, s.testLoss,
                s.trainLoss);
    std::printf("  mask updates %lld, %.3f s (%.2f%% of training time)\n", static_cast<long long>(s.updates),
                s.updateSeconds, s.seconds > 0 ? 100.0 * s.updateSeconds / s.seconds : 0.0);
    std::printf("  device %s\n", outcome.device.c_str());
    // The run's ordinary step against the dense twin's (dense_reference_steps).
    const DenseReference& dense = s.denseReference;
    std::string step = s.timedSteps > 0 ? "step " + formatMs(s.stepMs) : "no ordinary step timed";
    if (dense.measured && s.timedSteps > 0)
        std::printf("  %s, dense twin %s: %.2fx\n", step.c_str(), formatMs(dense.stepMs).c_str(), dense.stepMs / s.stepMs);
    else if (dense.measured)
        std::printf("  %s, dense twin %s\n", step.c_str(), formatMs(dense.stepMs).c_str());
    else if (!dense.skipped.empty())
        std::printf("  %s; no dense twin: %s\n", step.c_str(), dense.skipped.c_str());
    else if (s.timedSteps > 0)
        std::printf("  %s\n", step.c_str());
    if (outcome.distributed.worldSize > 1)
        std::printf("  data-parallel over %d workers, masks %s on every rank (checksum %s, %lld checks)\n",
                    outcome.distributed.worldSize, outcome.distributed.masksAgree ? "identical" : "DIFFERENT",
                    outcome.distributed.maskChecksum.c_str(), static_cast<long long>(outcome.distributed.maskChecks));
    std::printf("\n");
    std::printf("  %-24s %-18s %9s %6s %11s %8s %8s  %s\n", "layer", "shape", "sparsity", "k", "fan-in", "active",
                "ablated", "compute");
    for (const auto& l : s.layers) {
        std::string shape;
        for (size_t i = 0; i < l.shape.size(); ++i) shape += (i ? "x" : "") + std::to_string(l.shape[i]);
        std::string fan = std::to_string(l.fanInMin) + "-" + std::to_string(l.fanInMax);
        std::printf("  %-24s %-18s %8.2f%% %6lld %11s %8lld %8lld  %s\n", l.name.c_str(), shape.c_str(),
                    100.0 * l.sparsity, static_cast<long long>(l.k), fan.c_str(), static_cast<long long>(l.active),
                    static_cast<long long>(l.ablated), l.compute.c_str());
    }
}

} // namespace

void addTrainCommand(CLI::App& app, TrainOptions& options) {
    auto* train = app.add_subcommand("train", "Train a sparse network (default: SRigL 90% LeNet-300-100 on the "
                                              "built-in synthetic digits)");
    train->add_option("-c,--config", options.configFile, "JSON file with config keys")->check(CLI::ExistingFile);
    train->add_option("-s,--set", options.overrides, "override one key: --set key=value (repeatable)");
    train->add_option("--resume", options.resume,
                      "continue a run: a checkpoint file, or the id of a recorded run (its last checkpoint)");
    train->add_option("--db", options.db, "record into this database (default $SRIGL_DB or ~/.local/share/srigl-studio/runs.db)");
    train->add_flag("--no-db", options.noDb, "do not record the run");
    train->add_flag("--json", options.json, "print one JSON object per event on stdout");
    train->add_flag("-q,--quiet", options.quiet, "no progress output");
    train->add_flag("--distributed", options.distributed,
                    "be one worker of a data-parallel run (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT from the "
                    "environment; start them with `srigl launch`); only rank 0 records and checkpoints. Gloo on the "
                    "CPU, NCCL with device=cuda (GPU LOCAL_RANK)");
    train->add_option("--timeout", options.timeoutSeconds,
                      "with --distributed: seconds a worker waits for the others before failing")
        ->check(positiveNumber());
    train->add_option("--bucket-mb", options.bucketMegabytes,
                      "with --distributed: size of one gradient all-reduce message in MB (float32)")
        ->check(CLI::Range(0.001, 1024.0));
    train->add_flag("--no-overlap", options.noOverlap,
                    "with --distributed: all-reduce the gradients after backward instead of during it");
    train->footer(keysHelp());
}

namespace {

bool isRunId(const std::string& text) {
    return !text.empty() && text.size() < 19 && text.find_first_not_of("0123456789") == std::string::npos;
}

} // namespace

int runTrain(const TrainOptions& options) {
    Rendezvous where;
    if (options.distributed) {
        if (!distributedAvailable() && !ncclAvailable()) {
            std::fprintf(stderr, "srigl train: --distributed needs LibTorch's c10d with Gloo (or NCCL for GPUs), which "
                                 "this build does not have (on Debian install libgloo-dev and rebuild; see "
                                 "docs/distributed.md)\n");
            return 2;
        }
        try {
            where = rendezvousFromEnvironment();
        } catch (...) {
            return reportSetupError("srigl train");
        }
    }
    // Workers other than rank 0 only print their summary (with --json) and errors; rank 0 speaks for the run.
    const bool worker = where.rank != 0;
    ConsoleObserver console(options.json && !worker, options.quiet || worker);
    TrainRequest request;
    request.json = options.json;
    request.run.dbPath = options.noDb || worker ? "" : options.db.empty() ? sessions::defaultDatabasePath() : options.db;
    try {
        request.run.checkpoint = options.resume;
        if (isRunId(options.resume)) {
            // --resume ID: the run's last checkpoint in the database.
            const std::string dbPath = options.db.empty() ? sessions::defaultDatabasePath() : options.db;
            sessions::RunStore store(dbPath, sessions::RunStore::Mode::ReadWriteExisting); // never creates one
            request.run.runId = std::stoll(options.resume);
            if (worker) {
                // Rank 0 reopens the run (status running) meanwhile: only read its checkpoint.
                auto last = store.lastCheckpoint(request.run.runId);
                if (!last)
                    throw CheckpointError("run " + options.resume + " has no checkpoint to resume from");
                request.run.checkpoint = last->second;
                request.run.runId = 0;
            } else {
                request.run.checkpoint = sessions::recordedCheckpoint(store, request.run.runId);
            }
        }
        if (!request.run.checkpoint.empty()) request.run.config = readCheckpointConfig(request.run.checkpoint);
        if (!options.configFile.empty()) request.run.config = loadConfigFile(options.configFile, request.run.config);
        for (const auto& o : options.overrides) applyOverride(request.run.config, o);
    } catch (...) {
        return reportSetupError("srigl train");
    }
    if (options.distributed) {
        try {
            const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeoutSeconds * 1000.0));
            // The backend follows the device: NCCL on GPU LOCAL_RANK for cuda, Gloo for cpu.
            request.run.group = connectDataParallel(where, request.run.config.device, timeout);
            request.run.parallel.bucketElements =
                std::max<int64_t>(1, static_cast<int64_t>(options.bucketMegabytes * 1024.0 * 1024.0 / 4.0));
            request.run.parallel.overlap = !options.noOverlap;
        } catch (...) {
            return reportSetupError("srigl train");
        }
    }
    const TrainOutcome outcome = trainRun(request, console, "srigl train");
    if (!outcome.trained) return outcome.exitCode;
    const TrainingSummary& summary = outcome.summary;
    if (options.json) {
        auto j = summaryJson(summary);
        if (!request.run.dbPath.empty()) {
            j["run_id"] = outcome.runId;
            j["recording"] = {{"callback_seconds", outcome.recordingCost.callbackSeconds},
                              {"writer_cpu_seconds", outcome.recordingCost.writerCpuSeconds}};
            if (!outcome.recordingError.empty()) j["recording"]["error"] = outcome.recordingError;
        }
        if (options.distributed) {
            j["world_size"] = outcome.distributed.worldSize;
            j["rank"] = outcome.distributed.rank;
            j["masks_agree"] = outcome.distributed.masksAgree;
            j["mask_checksum"] = outcome.distributed.maskChecksum;
            j["mask_checks"] = outcome.distributed.maskChecks;
            j["communication_seconds"] = outcome.distributed.communicationSeconds;
            j["gradient_buckets"] = outcome.distributed.gradientBuckets;
            j["buckets_overlapped"] = outcome.distributed.bucketsOverlapped;
        }
        std::cout << j.dump() << std::endl;
    } else if (!worker) {
        printSummary(summary, outcome);
    }
    if (summary.status == TrainingStatus::Diverged) std::fprintf(stderr, "srigl train: %s\n", summary.message.c_str());
    return outcome.exitCode;
}

} // namespace srigl::cli
