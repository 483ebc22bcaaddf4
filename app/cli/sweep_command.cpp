// `srigl sweep`: the grid is expanded and validated before anything is stored or trained; each
// point's run is linked to the sweep as soon as it exists, so a killed sweep knows what to resume.
#include "sweep_command.hpp"

#include "console_observer.hpp"
#include "progress_bar.hpp"
#include "train_runner.hpp"

#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/session/sweep_plan.hpp"
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
    sweep->add_option("--resume", o.resume, "finish the sweep with this id (srigl runs sweeps lists them)");
    sweep->add_option("--db", o.db, "database (default $SRIGL_DB or ~/.local/share/srigl-studio/runs.db)");
    sweep->add_option("--name", o.name, "name of the sweep");
    sweep->add_flag("--json", o.json, "print one JSON object per event on stdout (the runs' events included)");
    sweep->add_flag("-q,--quiet", o.quiet, "no progress output");
}

int runSweep(const SweepOptions& o) {
    const std::string dbPath = o.db.empty() ? sessions::defaultDatabasePath() : o.db;
    std::unique_ptr<sessions::RunStore> store;
    std::unique_ptr<sessions::SweepStore> sweeps;
    int64_t sweepId = o.resume;
    std::vector<SweepPointRow> rows;
    try {
        if (o.resume > 0) {
            if (!o.grids.empty() || !o.overrides.empty() || !o.configFile.empty())
                throw ConfigError("", "--resume continues a sweep as it was defined; it takes no --grid, --set or --config");
            if (!std::filesystem::exists(dbPath)) throw sessions::StoreError(dbPath + ": no such database");
            store = std::make_unique<sessions::RunStore>(dbPath);
            sweeps = std::make_unique<sessions::SweepStore>(*store);
            store->markInterrupted();
            sweeps->markInterrupted();
            const auto info = sweeps->sweep(sweepId);
            if (info.status == sessions::RunStatus::Running)
                throw sessions::StoreError("sweep " + std::to_string(sweepId) + " is still being run by process " +
                                           std::to_string(info.pid) + " on " + info.host);
            rows = sweeps->points(sweepId);
            sweeps->reopenSweep(sweepId);
        } else {
            RunConfig base;
            if (!o.configFile.empty()) base = loadConfigFile(o.configFile, base);
            for (const auto& s : o.overrides) applyOverride(base, s);
            std::vector<sessions::GridAxis> axes;
            for (const auto& g : o.grids) axes.push_back(sessions::parseGridAxis(g));
            // Every point validated before the database is even opened: a bad grid stores nothing.
            const auto points = sessions::expandGrid(base, axes);
            for (const auto& p : points) rows.push_back({p.index, p.label(), configToJson(p.config, -1), 0, PointStatus::Pending});
            store = std::make_unique<sessions::RunStore>(dbPath);
            sweeps = std::make_unique<sessions::SweepStore>(*store);
            sweepId = sweeps->createSweep(o.name, configToJson(base, -1), sessions::gridToJson(axes), rows);
        }
    } catch (...) {
        return reportSetupError("srigl sweep");
    }

    const auto total = static_cast<int64_t>(rows.size());
    int64_t alreadyDone = 0;
    for (const auto& r : rows) alreadyDone += r.status == PointStatus::Finished || r.status == PointStatus::Failed;
    if (o.json) emit({{"event", "sweep"}, {"sweep_id", sweepId}, {"db", dbPath}, {"points", total}, {"done", alreadyDone}});
    else if (!o.quiet)
        std::fprintf(stderr, "sweep %lld: %lld points (%lld done), recorded in %s\n", static_cast<long long>(sweepId),
                     static_cast<long long>(total), static_cast<long long>(alreadyDone), dbPath.c_str());

    const bool bar = !o.json && !o.quiet && isatty(STDERR_FILENO);
    SweepProgress progress(total);
    ConsoleObserver jsonEvents(true, true);
    TrainingObserver silent;
    TrainingObserver& observer = o.json ? static_cast<TrainingObserver&>(jsonEvents)
                                        : bar ? static_cast<TrainingObserver&>(progress) : silent;
    int exitCode = 0;
    int64_t failed = 0;
    try {
        for (auto& row : rows) {
            if (row.status == PointStatus::Finished || row.status == PointStatus::Failed) continue;
            TrainRequest request;
            request.dbPath = dbPath;
            request.json = o.json;
            request.announce = o.json; // the point lines say which run it is
            request.config = configFromJson(row.config);
            bool resumed = false;
            if (row.runId > 0) {
                // A point that was running when the sweep stopped: continue its run, never start a second one.
                const auto run = store->run(row.runId);
                if (run.status == sessions::RunStatus::Finished || run.status == sessions::RunStatus::Failed) {
                    row.status = run.status == sessions::RunStatus::Finished ? PointStatus::Finished : PointStatus::Failed;
                    sweeps->finishPoint(sweepId, row.point, row.status);
                    continue;
                }
                request.runId = row.runId;
                const auto last = store->lastCheckpoint(row.runId);
                // Without a usable checkpoint the run starts over, in the same record.
                if (last && std::filesystem::exists(last->second)) request.checkpoint = last->second;
                resumed = true;
            }
            const int64_t point = row.point;
            request.onRecorded = [&, point](int64_t runId) { sweeps->startPoint(sweepId, point, runId); };
            if (o.json)
                emit({{"event", "point"}, {"sweep_id", sweepId}, {"point", point}, {"points", total},
                      {"assignment", assignmentJson(row.assignment)}, {"resumed", resumed}});
            if (bar) progress.startPoint(point, row.assignment);
            const TrainOutcome outcome = trainRun(request, observer, "srigl sweep");
            row.runId = outcome.runId;
            if (!outcome.trained && outcome.exitCode == 2) {
                // Set-up failed (data missing, database locked): the next points would fail alike.
                if (outcome.runId > 0) sweeps->finishPoint(sweepId, point, PointStatus::Failed);
                if (bar) progress.finish();
                sweeps->finishSweep(sweepId, sessions::RunStatus::Failed);
                return 2;
            }
            row.status = outcome.exitCode == 0     ? PointStatus::Finished
                         : outcome.exitCode == 130 ? PointStatus::Stopped
                                                   : PointStatus::Failed;
            if (outcome.runId > 0) sweeps->finishPoint(sweepId, point, row.status);
            failed += row.status == PointStatus::Failed;
            if (o.json)
                emit({{"event", "point_done"}, {"sweep_id", sweepId}, {"point", point}, {"run_id", outcome.runId},
                      {"status", sessions::toString(row.status)}, {"test_accuracy", outcome.summary.testAccuracy}});
            else if (!o.quiet && !bar)
                std::fprintf(stderr, "point %lld/%lld (%s): run %lld %s, test accuracy %.2f%%\n",
                             static_cast<long long>(point + 1), static_cast<long long>(total), row.assignment.c_str(),
                             static_cast<long long>(outcome.runId), sessions::toString(row.status).c_str(),
                             100.0 * outcome.summary.testAccuracy);
            if (row.status == PointStatus::Stopped) {
                exitCode = 130;
                break;
            }
        }
        if (bar) progress.finish();
        sweeps->finishSweep(sweepId, exitCode == 130 ? sessions::RunStatus::Stopped : sessions::RunStatus::Finished);
    } catch (const std::exception& e) {
        if (bar) progress.finish();
        std::fprintf(stderr, "srigl sweep: %s\n", e.what());
        return 2;
    }

    // The result: one line (or JSON object) per point.
    const auto final = sweeps->points(sweepId);
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
        std::printf("\nsweep %lld: %s\n  %5s %7s  %-11s %9s  %s\n", static_cast<long long>(sweepId),
                    exitCode == 130 ? "stopped (continue with srigl sweep --resume ID)" : "finished", "point", "run",
                    "status", "test acc", "assignment");
        for (const auto& p : final) {
            char acc[16] = "-";
            if (p.runId > 0) {
                const double a = store->run(p.runId).testAccuracy;
                if (a >= 0) std::snprintf(acc, sizeof acc, "%.2f%%", 100.0 * a);
            }
            std::printf("  %5lld %7lld  %-11s %9s  %s\n", static_cast<long long>(p.point + 1),
                        static_cast<long long>(p.runId), sessions::toString(p.status).c_str(), acc, p.assignment.c_str());
        }
    }
    return exitCode;
}

} // namespace srigl::cli
