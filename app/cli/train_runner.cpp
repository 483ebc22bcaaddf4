// The shared run of `srigl train` and `srigl sweep`.
#include "train_runner.hpp"

#include "engine/distributed/distributed_error.hpp"
#include "engine/errors.hpp"
#include "engine/training/trainer.hpp"
#include "sessions/session/recorded_run.hpp"
#include "sessions/session/run_description.hpp"

#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

namespace srigl::cli {
namespace {

Trainer* activeTrainer = nullptr;

void onInterrupt(int) {
    // Only an atomic store: safe in a signal handler. The loop stops after the current step.
    if (activeTrainer) activeTrainer->requestStop();
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

int reportSetupError(const std::string& prefix) {
    const char* p = prefix.c_str();
    try {
        throw;
    } catch (const DistributedError& e) {
        std::fprintf(stderr, "%s: distributed error: %s\n", p, e.what());
        return 1;
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s: config error: %s\n", p, e.what());
    } catch (const DataError& e) {
        std::fprintf(stderr, "%s: data error: %s\n", p, e.what());
    } catch (const CheckpointError& e) {
        std::fprintf(stderr, "%s: checkpoint error: %s\n", p, e.what());
    } catch (const sessions::StoreError& e) {
        std::fprintf(stderr, "%s: database error: %s\n", p, e.what());
    } catch (const std::filesystem::filesystem_error& e) {
        std::fprintf(stderr, "%s: %s\n", p, e.what());
    } catch (const c10::Error& e) {
        // e.g. an allocation that cannot be satisfied for the model or data the config asks for
        std::fprintf(stderr, "%s: cannot set up the run: %s\n", p, e.what_without_backtrace());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: cannot set up the run: %s\n", p, e.what());
    }
    return 2;
}

std::string recordedCheckpoint(sessions::RunStore& store, int64_t runId) {
    store.markInterrupted();
    const auto info = store.run(runId);
    if (sessions::RunStore::isLive(info))
        throw CheckpointError("run " + std::to_string(runId) + " is still being trained by process " +
                              std::to_string(info.pid) + " on " + info.host);
    if (auto last = store.lastCheckpoint(runId)) return last->second;
    // Killed between writing its first checkpoint and recording it: the file the run's config names.
    const auto config = nlohmann::json::parse(info.config, nullptr, false);
    if (config.is_object() && config.value("checkpoint", std::string()) != "") {
        const std::string file = config.value("checkpoint", std::string());
        if (std::filesystem::exists(file)) return file;
    }
    throw CheckpointError("run " + std::to_string(runId) + " has no checkpoint to resume from");
}

TrainOutcome trainRun(const TrainRequest& request, TrainingObserver& console, const std::string& prefix) {
    TrainOutcome outcome;
    std::unique_ptr<Trainer> trainer;
    const bool record = !request.dbPath.empty();
    const std::string& dbPath = request.dbPath;
    std::unique_ptr<sessions::RunStore> store;
    try {
        // The trainer validates everything before the store hears of the run: a bad config records nothing.
        if (record) sessions::requireCheckpointApartFromStore(request.config.checkpoint, dbPath);
        trainer = std::make_unique<Trainer>(request.config, &console);
        CheckpointHeader loaded;
        if (!request.checkpoint.empty()) loaded = trainer->loadCheckpoint(request.checkpoint);
        if (request.group) trainer->enableDataParallel(request.group, request.parallel);
        if (record) {
            // A resume never creates a database (a mistyped --db would start an empty one).
            store = std::make_unique<sessions::RunStore>(
                dbPath, request.runId ? sessions::RunStore::Mode::ReadWriteExisting : sessions::RunStore::Mode::ReadWrite);
            if (request.runId) {
                outcome.runId = request.runId;
                sessions::recordResumedRun(*store, *trainer, outcome.runId, loaded);
            } else {
                outcome.runId = sessions::recordNewRun(*store, *trainer, request.config);
            }
            if (request.onRecorded) request.onRecorded(outcome.runId);
            if (request.announce && !request.json)
                std::fprintf(stderr, "run %lld, recorded in %s\n", static_cast<long long>(outcome.runId), dbPath.c_str());
        }
    } catch (...) {
        outcome.exitCode = reportSetupError(prefix);
        return outcome;
    }
    outcome.method = trainer->config().method;
    outcome.device = trainer->deviceDescription();

    std::unique_ptr<sessions::Recorder> recorder;
    if (record) {
        Trainer* t = trainer.get();
        recorder = std::make_unique<sessions::Recorder>(dbPath, outcome.runId, [t] { return t->maskSnapshot(); }, &console);
        recorder->setWeightSource([t] { return t->weightSnapshots(); });
        recorder->setStartStep(trainer->step());
        trainer->setObserver(recorder.get());
        if (request.announce && request.json)
            std::cout << nlohmann::json{{"event", "run"}, {"run_id", outcome.runId}, {"db", dbPath}}.dump() << std::endl;
    }

    activeTrainer = trainer.get();
    auto previousInt = std::signal(SIGINT, onInterrupt);
    auto previousTerm = std::signal(SIGTERM, onInterrupt);
    try {
        outcome.summary = trainer->run();
    } catch (const std::exception& e) {
        activeTrainer = nullptr;
        std::signal(SIGINT, previousInt);
        std::signal(SIGTERM, previousTerm);
        if (recorder) recorder->close();
        const auto* torchError = dynamic_cast<const c10::Error*>(&e);
        const char* what = torchError ? torchError->what_without_backtrace() : e.what();
        try {
            if (store) store->finishRun(outcome.runId, sessions::RunStatus::Failed, trainer->step(), -1.0, what);
        } catch (const sessions::StoreError& se) {
            std::fprintf(stderr, "%s: database error: %s\n", prefix.c_str(), se.what());
        }
        std::fprintf(stderr, "%s: training failed: %s\n", prefix.c_str(), what);
        outcome.exitCode = 1;
        return outcome;
    }
    activeTrainer = nullptr;
    std::signal(SIGINT, previousInt);
    std::signal(SIGTERM, previousTerm);
    outcome.trained = true;
    outcome.distributed = trainer->distributedInfo();
    if (recorder) {
        // Recording failures never stop training; they are reported here, once.
        outcome.recordingError = recorder->close();
        outcome.recordingCost = recorder->cost();
        if (!outcome.recordingError.empty())
            std::fprintf(stderr, "%s: recording failed (training went on; the run's records stop there): %s\n",
                         prefix.c_str(), outcome.recordingError.c_str());
        try {
            store->finishRun(outcome.runId, storeStatus(outcome.summary.status), outcome.summary.steps,
                             outcome.summary.testAccuracy);
        } catch (const sessions::StoreError& e) {
            std::fprintf(stderr, "%s: database error: %s\n", prefix.c_str(), e.what());
        }
    }
    if (outcome.summary.status == TrainingStatus::Diverged) outcome.exitCode = 3;
    else if (outcome.summary.status == TrainingStatus::Stopped) outcome.exitCode = 130;
    return outcome;
}

} // namespace srigl::cli
