// srigl-engine: the command-line face of the engine (train, sweep, runs; bench and export as they
// land). Users call `srigl`, the light front end, which hands these commands to this executable.
#include "analyze_command.hpp"
#include "bench_command.hpp"
#include "convert_command.hpp"
#include "export_command.hpp"
#include "launch_command.hpp"
#include "runs_command.hpp"
#include "runs_render.hpp"
#include "sweep_command.hpp"
#include "train_command.hpp"

#include "engine/runtime/threading.hpp"

#include <CLI/CLI.hpp>

#include <string>

int main(int argc, char** argv) {
    // Only commands that compute need the OpenMP wait policy; the others skip the re-exec's cost.
    if (argc > 1 && (std::string(argv[1]) == "train" || std::string(argv[1]) == "sweep" ||
                     std::string(argv[1]) == "bench" || std::string(argv[1]) == "convert"))
        srigl::ensurePassiveOpenMpWait(argc, argv);
    CLI::App app{"SRigL Studio command line: dynamic sparse training with constant fan-in"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("srigl ") + SRIGL_VERSION);
    srigl::cli::TrainOptions train;
    srigl::cli::addTrainCommand(app, train);
    srigl::cli::RunsOptions runs;
    srigl::cli::addRunsCommand(app, runs);
    srigl::cli::SweepOptions sweep;
    srigl::cli::addSweepCommand(app, sweep);
    srigl::cli::BenchOptions bench;
    srigl::cli::addBenchCommand(app, bench);
    srigl::cli::ExportOptions exportOptions;
    srigl::cli::addExportCommand(app, exportOptions);
    srigl::cli::AnalyzeOptions analyze;
    srigl::cli::addAnalyzeCommand(app, analyze);
    srigl::cli::LaunchOptions launch;
    srigl::cli::addLaunchCommand(app, launch);
    srigl::cli::ConvertOptions convert;
    srigl::cli::addConvertCommand(app, convert);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    if (app.got_subcommand("train")) return srigl::cli::runTrain(train);
    if (app.got_subcommand("runs")) return srigl::cli::runRuns(app, runs, srigl::cli::renderRun);
    if (app.got_subcommand("sweep")) return srigl::cli::runSweep(sweep);
    if (app.got_subcommand("bench")) return srigl::cli::runBench(bench);
    if (app.got_subcommand("export")) return srigl::cli::runExport(exportOptions);
    if (app.got_subcommand("analyze")) return srigl::cli::runAnalyze(app, analyze);
    if (app.got_subcommand("launch")) return srigl::cli::runLaunch(launch);
    if (app.got_subcommand("convert")) return srigl::cli::runConvert(convert);
    return 2;
}
