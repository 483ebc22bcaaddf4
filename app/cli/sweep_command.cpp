// `srigl sweep`: the grid is expanded and validated before anything is stored or trained; each
// point's run is linked to the sweep as soon as it exists, so a killed sweep knows what to resume.
#include "sweep_command.hpp"

#include "cli_checks.hpp"
#include "console_observer.hpp"
#include "printable_text.hpp"
#include "progress_bar.hpp"
#include "train_runner.hpp"

#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/session/recorded_run.hpp"
#include "sessions/session/sweep_plan.hpp"
#include "sessions/session/sweep_runner.hpp"
#include "sessions/store/sweep_store.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

namespace srigl::cli {
namespace {

using sessions::PointStatus;
using sessions::SweepPointRow;

// The whole sweep as one bar on a terminal: points done plus the current point's fraction.
class SweepProgress : public TrainingObserver {
public:
    SweepProgress(int64_t points) : points_(points), bar_(points * 100) {}
    void startPoint(int64_t index, const std::string& label) {
        index_ = index;
        label_ = label;
        total_ = 0;
        bar_.update(index_ * 100, suffix(0.0), true);
    }
    void onStart(const std::vector<LayerUpdateStats>&, int64_t totalSteps) override { total_ = totalSteps; }
    void onStep(const StepMetrics& m) override {
        loss_ = m.loss;
        const int64_t pct = total_ > 0 ? 100 * m.step / total_ : 0;
        bar_.update(index_ * 100 + pct, suffix(loss_));
    }
    void finish() { bar_.finish(); }

private:
    std::string suffix(double loss) const {
        char buf[64];
        std::snprintf(buf, sizeof buf, "point %lld/%lld loss %.4f ", static_cast<long long>(index_ + 1),
                      static_cast<long long>(points_), loss);
        return buf + label_;
    }
    int64_t points_, index_ = 0, total_ = 0;
    double loss_ = 0.0;
    std::string label_;
    ProgressBar bar_;
};

nlohmann::json assignmentJson(const std::string& label) {
    nlohmann::json j = nlohmann::json::object();
    size_t start = 0;
    while (start < label.size()) {
        size_t end = label.find(' ', start);
        if (end == std::string::npos) end = label.size();
        const std::string term = label.substr(start, end - start);
        const auto eq = term.find('=');
        if (eq != std::string::npos) j[term.substr(0, eq)] = term.substr(eq + 1);
        start = end + 1;
    }
    return j;
}

void emit(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

} // namespace

void addSweepCommand(CLI::App& app, SweepOptions& o) {
    auto* sweep = app.add_subcommand("sweep", "Train a grid of configs one run after another (each recorded), or "
                                              "resume an interrupted sweep");
    sweep->add_option("-c,--config", o.configFile, "JSON file with the base config")->check(CLI::ExistingFile);
    sweep->add_option("-s,--set", o.overrides, "override one key of the base config: --set key=value (repeatable)");
    sweep->add_option("-g,--grid", o.grids,
                      "one axis of the grid: --grid key=v1,v2,... (repeatable; the last varies fastest; "
                      "key=v1|v2 when values contain commas)");
    // Sweep ids are positive: a negative one was taken as "no --resume" (and asked for a --grid).
    sweep->add_option("--resume", o.resume, "finish the sweep with this id (srigl runs sweeps lists them)")
        ->check(idNumber());
    sweep->add_option("--db", o.db, "database (default $SRIGL_DB or ~/.local/share/srigl-studio/runs.db)");
    sweep->add_option("--name", o.name, "name of the sweep");
    sweep->add_flag("--json", o.json, "print one JSON object per event on stdout (the runs' events included)");
    sweep->add_flag("-q,--quiet", o.quiet, "no progress output");
}

int runSweep(const SweepOptions& o) {
    const std::string dbPath = o.db.empty() ? sessions::defaultDatabasePath() : o.db;
    std::unique_ptr<sessions::SweepRunner> runner;
    try {
        sessions::SweepRequest request;
        request.dbPath = dbPath;
        request.name = o.name;
        request.resume = o.resume;
        if (o.resume > 0) {
            if (!o.grids.empty() || !o.overrides.empty() || !o.configFile.empty())
                throw ConfigError("", "--resume continues a sweep as it was defined; it takes no --grid, --set or --config");
        } else {
            if (!o.configFile.empty()) request.base = loadConfigFile(o.configFile, request.base);
            for (const auto& s : o.overrides) applyOverride(request.base, s);
            for (const auto& g : o.grids) request.axes.push_back(sessions::parseGridAxis(g));
        }
        runner = std::make_unique<sessions::SweepRunner>(request);
    } catch (...) {
        return reportSetupError("srigl sweep");
    }
    const int64_t sweepId = runner->sweepId();
    sessions::RunStore* store = &runner->store();

    const auto total = static_cast<int64_t>(runner->rows().size());
    if (o.json)
        emit({{"event", "sweep"}, {"sweep_id", sweepId}, {"db", dbPath}, {"points", total}, {"done", runner->alreadyDone()}});
    else if (!o.quiet)
        std::fprintf(stderr, "sweep %lld: %lld points (%lld done), recorded in %s\n", static_cast<long long>(sweepId),
                     static_cast<long long>(total), static_cast<long long>(runner->alreadyDone()), dbPath.c_str());

    const bool bar = !o.json && !o.quiet && isatty(STDERR_FILENO);
    SweepProgress progress(total);
    ConsoleObserver jsonEvents(true, true);
    TrainingObserver silent;
    TrainingObserver& observer = o.json ? static_cast<TrainingObserver&>(jsonEvents)
                                        : bar ? static_cast<TrainingObserver&>(progress) : silent;
    int64_t failed = 0;
    sessions::SweepRunner::Hooks hooks;
    hooks.starting = [&](const SweepPointRow& row, bool resumed) {
        if (o.json)
            emit({{"event", "point"}, {"sweep_id", sweepId}, {"point", row.point}, {"points", total},
                  {"assignment", assignmentJson(row.assignment)}, {"resumed", resumed}});
        // A resumed sweep's assignments come from the database: shown, never obeyed, by the terminal.
        if (bar) progress.startPoint(row.point, printableText(row.assignment));
    };
    hooks.finished = [&](const SweepPointRow& row, const sessions::PointOutcome& outcome) {
        if (outcome.setupFailed) return;
        failed += row.status == PointStatus::Failed;
        if (o.json)
            emit({{"event", "point_done"}, {"sweep_id", sweepId}, {"point", row.point}, {"run_id", outcome.runId},
                  {"status", sessions::toString(row.status)}, {"test_accuracy", outcome.testAccuracy}});
        else if (!o.quiet && !bar)
            std::fprintf(stderr, "point %lld/%lld (%s): run %lld %s, test accuracy %.2f%%\n",
                         static_cast<long long>(row.point + 1), static_cast<long long>(total),
                         printableText(row.assignment).c_str(),
                         static_cast<long long>(outcome.runId), sessions::toString(row.status).c_str(),
                         100.0 * outcome.testAccuracy);
    };
    auto trainPoint = [&](const sessions::RunRequest& point) {
        TrainRequest request;
        request.run = point;
        request.json = o.json;
        request.announce = o.json; // the point lines say which run it is
        const TrainOutcome outcome = trainRun(request, observer, "srigl sweep");
        sessions::PointOutcome result;
        result.runId = outcome.runId;
        result.setupFailed = !outcome.trained && outcome.exitCode == 2;
        result.status = outcome.exitCode == 0     ? PointStatus::Finished
                        : outcome.exitCode == 130 ? PointStatus::Stopped
                                                  : PointStatus::Failed;
        result.testAccuracy = outcome.summary.testAccuracy;
        return result;
    };
    int exitCode = 0;
    try {
        const auto status = runner->run(trainPoint, hooks);
        if (bar) progress.finish();
        if (status == sessions::RunStatus::Failed) return 2;
        if (status == sessions::RunStatus::Stopped) exitCode = 130;
    } catch (const std::exception& e) {
        if (bar) progress.finish();
        std::fprintf(stderr, "srigl sweep: %s\n", printableLines(sessions::errorMessage(e)).c_str());
        return 2;
    }

    // The result: one line (or JSON object) per point.
    const auto final = runner->sweeps().points(sweepId);
    if (o.json) {
        nlohmann::json points = nlohmann::json::array();
        for (const auto& p : final) {
            double acc = -1.0;
            if (p.runId > 0) acc = store->run(p.runId).testAccuracy;
            points.push_back({{"point", p.point}, {"assignment", assignmentJson(p.assignment)}, {"run_id", p.runId},
                              {"status", sessions::toString(p.status)}, {"test_accuracy", acc}});
        }
        emit({{"event", "sweep_summary"}, {"sweep_id", sweepId}, {"status", exitCode == 130 ? "stopped" : "finished"},
              {"failed", failed}, {"points", points}});
    } else {
        const std::string how =
            exitCode == 130 ? "stopped (continue with srigl sweep --resume " + std::to_string(sweepId) + ")" : "finished";
        std::printf("\nsweep %lld: %s\n  %5s %7s  %-11s %9s  %s\n", static_cast<long long>(sweepId), how.c_str(),
                    "point", "run", "status", "test acc", "assignment");
        for (const auto& p : final) {
            char acc[16] = "-";
            if (p.runId > 0) {
                const double a = store->run(p.runId).testAccuracy;
                if (a >= 0) std::snprintf(acc, sizeof acc, "%.2f%%", 100.0 * a);
            }
            std::printf("  %5lld %7lld  %-11s %9s  %s\n", static_cast<long long>(p.point + 1),
                        static_cast<long long>(p.runId), sessions::toString(p.status).c_str(), acc,
                        printableText(p.assignment).c_str());
        }
    }
    return exitCode;
}

} // namespace srigl::cli
