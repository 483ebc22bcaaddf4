// srigl: the light front end. `srigl runs ...` only reads the store, so it runs here without
// loading LibTorch or OpenCV (whose dynamic loading costs most of a second); every other command,
// `runs render` included, is handed with the same arguments to srigl-engine next to this executable.
#include "computing_commands.hpp"
#include "engine/runtime/compute_environment.hpp"
#include "runs_command.hpp"
#include "self_directory.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "runs") {
        // Parsing is cheap; what `runs` needs beyond the store (render: OpenCV) is srigl-engine's.
        CLI::App app{"SRigL Studio command line: recorded runs"};
        app.require_subcommand(1);
        srigl::cli::RunsOptions runs;
        srigl::cli::addRunsCommand(app, runs);
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return srigl::cli::exitOnParseError(app, e);
        }
        if (!app.get_subcommand("runs")->got_subcommand("render")) return srigl::cli::runRuns(app, runs);
    }
    // Commands that compute want the compute environment (OpenMP's passive wait, malloc's huge
    // pages), which must be there before the libraries load: setting it here saves srigl-engine
    // re-executing itself.
    if (srigl::cli::commandComputes(command) && !std::getenv("SRIGL_NO_REEXEC")) {
        srigl::addComputeEnvironment();
        setenv("SRIGL_NO_REEXEC", "1", 1);
    }
    const std::string engine = srigl::cli::selfDirectory() + "/srigl-engine";
    execv(engine.c_str(), argv);
    std::fprintf(stderr, "srigl: cannot start %s: %s (build it with the srigl target)\n", engine.c_str(),
                 std::strerror(errno));
    return 2;
}
