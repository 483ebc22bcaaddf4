// srigl-engine: the command-line face of the engine (train, sweep, runs; bench and export as they
// land). Users call `srigl`, the light front end, which hands these commands to this executable.
#include "analyze_command.hpp"
#include "bench_command.hpp"
#include "computing_commands.hpp"
#include "convert_command.hpp"
#include "export_command.hpp"
#include "import_command.hpp"
#include "launch_command.hpp"
#include "runs_command.hpp"
#include "runs_render.hpp"
#include "sweep_command.hpp"
#include "train_command.hpp"

#include "engine/runtime/threading.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

// The subcommands: each one's options live as long as main, and the one the command line names
// runs with them once parsed.
class Commands {
public:
    explicit Commands(CLI::App& app) : app_(app) {}

    // Registers the subcommand `name` with addCommand(app, options); run(options) runs it.
    template <typename Options, typename Add, typename Run>
    void add(const std::string& name, Add addCommand, Run run) {
        auto options = std::make_shared<Options>();
        addCommand(app_, *options);
        runs_.emplace_back(name, [options, run] { return run(*options); });
    }

    // The exit code of the parsed subcommand (2: none, which require_subcommand rules out).
    int runParsed() const {
        for (const auto& [name, run] : runs_)
            if (app_.got_subcommand(name)) return run();
        return 2;
    }

private:
    CLI::App& app_;
    std::vector<std::pair<std::string, std::function<int()>>> runs_;
};

} // namespace

int main(int argc, char** argv) {
    using namespace srigl::cli;
    // Only commands that compute need the compute environment; the others skip the re-exec's cost.
    if (argc > 1 && commandComputes(argv[1])) srigl::ensureComputeEnvironment(argc, argv);
    CLI::App app{"SRigL Studio command line: dynamic sparse training with constant fan-in"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("srigl ") + SRIGL_VERSION);
    Commands commands(app);
    commands.add<TrainOptions>("train", addTrainCommand, runTrain);
    commands.add<RunsOptions>("runs", addRunsCommand,
                              [&app](const RunsOptions& o) { return runRuns(app, o, renderRun); });
    commands.add<SweepOptions>("sweep", addSweepCommand, runSweep);
    commands.add<BenchOptions>("bench", addBenchCommand, runBench);
    commands.add<ExportOptions>("export", addExportCommand, runExport);
    commands.add<AnalyzeOptions>("analyze", addAnalyzeCommand,
                                 [&app](const AnalyzeOptions& o) { return runAnalyze(app, o); });
    commands.add<LaunchOptions>("launch", addLaunchCommand, runLaunch);
    commands.add<ConvertOptions>("convert", addConvertCommand, runConvert);
    commands.add<ImportOptions>("import", addImportCommand, runImport);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return exitOnParseError(app, e);
    }
    return commands.runParsed();
}
