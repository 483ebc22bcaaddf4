// The shared run of `srigl train` and `srigl sweep`.
#include "train_runner.hpp"

#include "recording_notices.hpp"

#include "engine/distributed/distributed_error.hpp"
#include "engine/errors.hpp"
#include "engine/training/trainer.hpp"
#include "sessions/session/recorded_run.hpp"

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
        std::fprintf(stderr, "%s: cannot set up the run: %s\n", p, sessions::errorMessage(e).c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: cannot set up the run: %s\n", p, e.what());
    }
    return 2;
}

TrainOutcome trainRun(const TrainRequest& request, TrainingObserver& console, const std::string& prefix) {
    TrainOutcome outcome;
    // Before the run: its recorder's thread may leave notes until the run is destroyed.
    RecordingNotices notices(console, request.json, prefix);
    sessions::RunRequest runRequest = request.run;
    runRequest.onRecordingHealth = [&notices](const sessions::RecordingHealth& h) { notices.note(h); };
    std::unique_ptr<sessions::RecordedRun> run;
    try {
        run = std::make_unique<sessions::RecordedRun>(runRequest, &notices);
    } catch (...) {
        outcome.exitCode = reportSetupError(prefix);
        return outcome;
    }
    outcome.runId = run->runId();
    if (run->recorded() && request.announce) {
        if (request.json)
            std::cout << nlohmann::json{{"event", "run"}, {"run_id", outcome.runId}, {"db", request.run.dbPath}}.dump()
                      << std::endl;
        else
            std::fprintf(stderr, "run %lld, recorded in %s\n", static_cast<long long>(outcome.runId),
                         request.run.dbPath.c_str());
    }
    outcome.method = run->trainer().config().method;
    outcome.device = run->trainer().deviceDescription();

    activeTrainer = &run->trainer();
    auto previousInt = std::signal(SIGINT, onInterrupt);
    auto previousTerm = std::signal(SIGTERM, onInterrupt);
    const sessions::RunEnd end = run->train();
    activeTrainer = nullptr;
    std::signal(SIGINT, previousInt);
    std::signal(SIGTERM, previousTerm);
    notices.show(); // what the recorder said while it wrote the last records
    if (!end.storeError.empty()) std::fprintf(stderr, "%s: database error: %s\n", prefix.c_str(), end.storeError.c_str());
    if (!end.failure.empty()) {
        std::fprintf(stderr, "%s: training failed: %s\n", prefix.c_str(), end.failure.c_str());
        outcome.exitCode = 1;
        return outcome;
    }
    outcome.trained = true;
    outcome.summary = end.summary;
    outcome.distributed = end.distributed;
    outcome.recordingError = end.recordingError;
    outcome.recordingCost = end.recordingCost;
    if (!outcome.recordingError.empty())
        std::fprintf(stderr, "%s: recording incomplete (training went on): %s\n", prefix.c_str(),
                     outcome.recordingError.c_str());
    if (outcome.summary.status == TrainingStatus::Diverged) outcome.exitCode = 3;
    else if (outcome.summary.status == TrainingStatus::Stopped) outcome.exitCode = 130;
    return outcome;
}

} // namespace srigl::cli
