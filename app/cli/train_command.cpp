// `srigl train`: progress bar on a terminal, JSON lines with --json, clear errors with exit code 2.
#include "train_command.hpp"

#include "json_events.hpp"
#include "progress_bar.hpp"

#include "engine/errors.hpp"
#include "engine/runtime/threading.hpp"
#include "engine/training/trainer.hpp"

#include <c10/util/Exception.h>
#include "sessions/recorder.hpp"
#include "sessions/run_store.hpp"

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

namespace srigl::cli {
namespace {

Trainer* activeTrainer = nullptr;

void onInterrupt(int) {
    // Only an atomic store: safe in a signal handler. The loop stops after the current step.
    if (activeTrainer) activeTrainer->requestStop();
}

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

class ConsoleObserver : public TrainingObserver {
public:
    ConsoleObserver(bool json, bool quiet) : json_(json), quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0) {}

    void onStart(const std::vector<LayerUpdateStats>& layers, int64_t totalSteps) override {
        total_ = totalSteps;
        if (json_) {
            nlohmann::json ls = nlohmann::json::array();
            for (const auto& l : layers) ls.push_back(layerJson(l));
            emit({{"event", "start"}, {"total_steps", totalSteps}, {"layers", ls}});
        } else if (tty_ && !quiet_) {
            bar_ = std::make_unique<ProgressBar>(totalSteps);
        }
    }
    void onStep(const StepMetrics& m) override {
        lastStep_ = m;
        if (json_) emit(stepJson(m));
        else if (bar_) bar_->update(m.step, suffix(), m.step == total_);
    }
    void onMaskUpdate(const MaskUpdateEvent& e) override {
        if (json_) emit(maskUpdateJson(e));
    }
    void onEvaluation(const EvalMetrics& m) override {
        lastEval_ = m;
        haveEval_ = true;
        if (json_) emit(evalJson(m));
        else if (bar_) bar_->update(lastStep_.step, suffix(), true);
        else if (!quiet_)
            std::fprintf(stderr, "epoch %lld step %lld/%lld: train loss %.4f, test accuracy %.2f%%\n",
                         static_cast<long long>(m.epoch + 1), static_cast<long long>(m.step),
                         static_cast<long long>(total_), lastStep_.loss, 100.0 * m.testAccuracy);
    }
    void onCheckpoint(int64_t step, const std::string& path) override {
        if (json_) emit({{"event", "checkpoint"}, {"step", step}, {"path", path}});
    }
    void onFinished(const TrainingSummary&) override {
        if (bar_) bar_->finish();
    }

private:
    std::string suffix() const {
        char buf[128];
        if (haveEval_)
            std::snprintf(buf, sizeof buf, "loss %.4f acc %.1f%% test %.2f%%", lastStep_.loss,
                          100.0 * lastStep_.accuracy, 100.0 * lastEval_.testAccuracy);
        else std::snprintf(buf, sizeof buf, "loss %.4f acc %.1f%%", lastStep_.loss, 100.0 * lastStep_.accuracy);
        return buf;
    }
    void emit(const nlohmann::json& j) {
        std::cout << j.dump() << std::endl;
    }

    bool json_, quiet_, tty_;
    int64_t total_ = 0;
    std::unique_ptr<ProgressBar> bar_;
    StepMetrics lastStep_;
    EvalMetrics lastEval_;
    bool haveEval_ = false;
};

void printSummary(const TrainingSummary& s, const Trainer& trainer) {
    std::printf("\n%s: %s after %lld steps in %s (%.0f samples/s)\n", trainer.config().method.c_str(),
                toString(s.status).c_str(), static_cast<long long>(s.steps), formatDuration(s.seconds).c_str(),
                s.samplesPerSecond);
    if (!s.message.empty()) std::printf("  %s\n", s.message.c_str());
    std::printf("  test accuracy %.2f%%  test loss %.4f  train loss %.4f\n", 100.0 * s.testAccuracy, s.testLoss,
                s.trainLoss);
    std::printf("  mask updates %lld, %.3f s (%.2f%% of training time)\n", static_cast<long long>(s.updates),
                s.updateSeconds, s.seconds > 0 ? 100.0 * s.updateSeconds / s.seconds : 0.0);
    std::printf("  device %s\n\n", trainer.deviceDescription().c_str());
    std::printf("  %-24s %-18s %9s %6s %11s %8s %8s\n", "layer", "shape", "sparsity", "k", "fan-in", "active",
                "ablated");
    for (const auto& l : s.layers) {
        std::string shape;
        for (size_t i = 0; i < l.shape.size(); ++i) shape += (i ? "x" : "") + std::to_string(l.shape[i]);
        std::string fan = std::to_string(l.fanInMin) + "-" + std::to_string(l.fanInMax);
        std::printf("  %-24s %-18s %8.2f%% %6lld %11s %8lld %8lld\n", l.name.c_str(), shape.c_str(),
                    100.0 * l.sparsity, static_cast<long long>(l.k), fan.c_str(), static_cast<long long>(l.active),
                    static_cast<long long>(l.ablated));
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
    train->footer(keysHelp());
}

namespace {

bool isRunId(const std::string& text) {
    return !text.empty() && text.size() < 19 && text.find_first_not_of("0123456789") == std::string::npos;
}

sessions::RunStatus storeStatus(TrainingStatus s) {
    switch (s) {
    case TrainingStatus::Finished: return sessions::RunStatus::Finished;
    case TrainingStatus::Stopped: return sessions::RunStatus::Stopped;
    case TrainingStatus::Diverged: return sessions::RunStatus::Failed;
    }
    return sessions::RunStatus::Failed;
}

} // namespace

int runTrain(const TrainOptions& options) {
    std::unique_ptr<Trainer> trainer;
    ConsoleObserver console(options.json, options.quiet);
    const bool record = !options.noDb;
    const std::string dbPath = options.db.empty() ? sessions::defaultDatabasePath() : options.db;
    std::unique_ptr<sessions::RunStore> store;
    int64_t runId = 0;
    int64_t resumedRun = 0;
    try {
        RunConfig config;
        std::string checkpoint = options.resume;
        if (isRunId(options.resume)) {
            // --resume ID: the run's last checkpoint in the database.
            store = std::make_unique<sessions::RunStore>(dbPath);
            resumedRun = std::stoll(options.resume);
            store->markInterrupted();
            const auto info = store->run(resumedRun);
            if (info.status == sessions::RunStatus::Running)
                throw CheckpointError("run " + options.resume + " is still being trained by process " +
                                      std::to_string(info.pid) + " on " + info.host);
            auto last = store->lastCheckpoint(resumedRun);
            if (!last) throw CheckpointError("run " + options.resume + " has no checkpoint to resume from");
            checkpoint = last->second;
        }
        if (!checkpoint.empty()) config = readCheckpointConfig(checkpoint);
        if (!options.configFile.empty()) config = loadConfigFile(options.configFile, config);
        for (const auto& o : options.overrides) applyOverride(config, o);
        trainer = std::make_unique<Trainer>(config, &console);
        if (!checkpoint.empty()) trainer->loadCheckpoint(checkpoint);

        if (record) {
            if (!store) store = std::make_unique<sessions::RunStore>(dbPath);
            if (resumedRun) {
                runId = resumedRun;
                store->reopenRun(runId, trainer->step());
            } else {
                runId = store->createRun(sessions::describeRun(config));
            }
            // A recorded run can always be resumed after a crash: checkpoint it when the config
            // does not say where.
            if (config.checkpoint.empty())
                trainer->setCheckpointFile(sessions::defaultCheckpointPath(dbPath, runId),
                                           config.checkpoint_every > 0 ? config.checkpoint_every
                                                                       : sessions::kDefaultCheckpointEvery);
            if (!options.json) std::fprintf(stderr, "run %lld, recorded in %s\n", static_cast<long long>(runId), dbPath.c_str());
        }
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "srigl train: config error: %s\n", e.what());
        return 2;
    } catch (const DataError& e) {
        std::fprintf(stderr, "srigl train: data error: %s\n", e.what());
        return 2;
    } catch (const CheckpointError& e) {
        std::fprintf(stderr, "srigl train: checkpoint error: %s\n", e.what());
        return 2;
    } catch (const sessions::StoreError& e) {
        std::fprintf(stderr, "srigl train: database error: %s\n", e.what());
        return 2;
    } catch (const std::filesystem::filesystem_error& e) {
        std::fprintf(stderr, "srigl train: %s\n", e.what());
        return 2;
    } catch (const c10::Error& e) {
        // e.g. an allocation that cannot be satisfied for the model or data the config asks for
        std::fprintf(stderr, "srigl train: cannot set up the run: %s\n", e.what_without_backtrace());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "srigl train: cannot set up the run: %s\n", e.what());
        return 2;
    }

    std::unique_ptr<sessions::Recorder> recorder;
    if (record) {
        Trainer* t = trainer.get();
        recorder = std::make_unique<sessions::Recorder>(dbPath, runId, [t] { return t->maskSnapshot(); }, &console);
        recorder->setStartStep(trainer->step());
        trainer->setObserver(recorder.get());
        if (options.json) std::cout << nlohmann::json{{"event", "run"}, {"run_id", runId}, {"db", dbPath}}.dump() << std::endl;
    }

    activeTrainer = trainer.get();
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    TrainingSummary summary;
    try {
        summary = trainer->run();
    } catch (const std::exception& e) {
        activeTrainer = nullptr;
        if (recorder) recorder->close();
        const auto* torchError = dynamic_cast<const c10::Error*>(&e);
        const char* what = torchError ? torchError->what_without_backtrace() : e.what();
        if (store) store->finishRun(runId, sessions::RunStatus::Failed, trainer->step(), -1.0);
        std::fprintf(stderr, "srigl train: training failed: %s\n", what);
        return 1;
    }
    activeTrainer = nullptr;
    if (recorder) {
        const std::string error = recorder->close();
        if (!error.empty()) std::fprintf(stderr, "srigl train: recording failed: %s\n", error.c_str());
        try {
            store->finishRun(runId, storeStatus(summary.status), summary.steps, summary.testAccuracy);
        } catch (const sessions::StoreError& e) {
            std::fprintf(stderr, "srigl train: database error: %s\n", e.what());
        }
    }
    if (options.json) {
        auto j = summaryJson(summary);
        if (record) {
            j["run_id"] = runId;
            const auto cost = recorder->cost();
            j["recording"] = {{"callback_seconds", cost.callbackSeconds}, {"writer_cpu_seconds", cost.writerCpuSeconds}};
        }
        std::cout << j.dump() << std::endl;
    }
    else printSummary(summary, *trainer);
    if (summary.status == TrainingStatus::Diverged) {
        std::fprintf(stderr, "srigl train: %s\n", summary.message.c_str());
        return 3;
    }
    return summary.status == TrainingStatus::Stopped ? 130 : 0;
}

} // namespace srigl::cli
