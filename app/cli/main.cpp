// srigl: the command-line face of the engine (train, runs; bench and export as they land).
#include "runs_command.hpp"
#include "train_command.hpp"

#include "engine/runtime/threading.hpp"

#include <CLI/CLI.hpp>

#include <string>

int main(int argc, char** argv) {
    // Only commands that compute need the OpenMP wait policy; the others skip the re-exec's cost.
    if (argc > 1 && std::string(argv[1]) == "train") srigl::ensurePassiveOpenMpWait(argc, argv);
    CLI::App app{"SRigL Studio command line: dynamic sparse training with constant fan-in"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("srigl ") + SRIGL_VERSION);
    srigl::cli::TrainOptions train;
    srigl::cli::addTrainCommand(app, train);
    srigl::cli::RunsOptions runs;
    srigl::cli::addRunsCommand(app, runs);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    if (app.got_subcommand("train")) return srigl::cli::runTrain(train);
    if (app.got_subcommand("runs")) return srigl::cli::runRuns(app, runs);
    return 2;
}
