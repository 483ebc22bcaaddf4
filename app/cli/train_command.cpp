// `srigl train`: progress bar on a terminal, JSON lines with --json, clear errors with exit code 2.
#include "train_command.hpp"

#include "json_events.hpp"
#include "progress_bar.hpp"

#include "engine/errors.hpp"
#include "engine/runtime/threading.hpp"
#include "engine/training/trainer.hpp"

#include <unistd.h>

#include <csignal>
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
    train->add_option("--resume", options.resume, "continue from a checkpoint file (its config, then --set)");
    train->add_flag("--json", options.json, "print one JSON object per event on stdout");
    train->add_flag("-q,--quiet", options.quiet, "no progress output");
    train->footer(keysHelp());
}

int runTrain(const TrainOptions& options) {
    std::unique_ptr<Trainer> trainer;
    ConsoleObserver observer(options.json, options.quiet);
    try {
        RunConfig config;
        if (!options.resume.empty()) config = readCheckpointConfig(options.resume);
        if (!options.configFile.empty()) config = loadConfigFile(options.configFile, config);
        for (const auto& o : options.overrides) applyOverride(config, o);
        trainer = std::make_unique<Trainer>(config, &observer);
        if (!options.resume.empty()) trainer->loadCheckpoint(options.resume);
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "srigl train: config error: %s\n", e.what());
        return 2;
    } catch (const DataError& e) {
        std::fprintf(stderr, "srigl train: data error: %s\n", e.what());
        return 2;
    } catch (const CheckpointError& e) {
        std::fprintf(stderr, "srigl train: checkpoint error: %s\n", e.what());
        return 2;
    }

    activeTrainer = trainer.get();
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    TrainingSummary summary;
    try {
        summary = trainer->run();
    } catch (const std::exception& e) {
        activeTrainer = nullptr;
        std::fprintf(stderr, "srigl train: training failed: %s\n", e.what());
        return 1;
    }
    activeTrainer = nullptr;
    if (options.json) std::cout << summaryJson(summary).dump() << std::endl;
    else printSummary(summary, *trainer);
    if (summary.status == TrainingStatus::Diverged) {
        std::fprintf(stderr, "srigl train: %s\n", summary.message.c_str());
        return 3;
    }
    return summary.status == TrainingStatus::Stopped ? 130 : 0;
}

} // namespace srigl::cli
