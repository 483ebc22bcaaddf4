// `srigl launch`: fork/exec N workers with the rendezvous variables set, forward their output
// (rank 0 untouched, the others prefixed "[rank R] "), and when one fails stop all the others:
// a data-parallel run with a dead worker can only wait, so waiting is never left to chance.
#include "launch_command.hpp"

#include "cli_checks.hpp"
#include "self_directory.hpp"

#include "engine/distributed/free_port.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <algorithm>
#include <utility>
#include <vector>

namespace srigl::cli {
namespace {

volatile sig_atomic_t stopSignal = 0;

void onStopSignal(int sig) { stopSignal = sig; }

struct Stream {
    int fd = -1;
    FILE* to = nullptr;
    std::string prefix;
    bool drop = false;
    std::string pending; // an unfinished line
};

void emitLines(Stream& s, bool flushAll) {
    size_t start = 0;
    for (size_t nl; (nl = s.pending.find('\n', start)) != std::string::npos; start = nl + 1)
        if (!s.drop) std::fprintf(s.to, "%s%.*s\n", s.prefix.c_str(), static_cast<int>(nl - start), s.pending.data() + start);
    s.pending.erase(0, start);
    if (flushAll && !s.pending.empty()) {
        if (!s.drop) std::fprintf(s.to, "%s%s\n", s.prefix.c_str(), s.pending.c_str());
        s.pending.clear();
    }
    std::fflush(s.to);
}

struct Worker {
    int rank = 0;
    pid_t pid = -1;
    bool running = false;
    int status = 0;
};

std::string describeExit(int status) {
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
    return "ended";
}

} // namespace

void addLaunchCommand(CLI::App& app, LaunchOptions& options) {
    auto* launch = app.add_subcommand(
        "launch", "Start N local workers of a data-parallel run: srigl launch --nproc 2 -- srigl train --distributed ...");
    launch->add_option("-n,--nproc", options.nproc, "number of worker processes")->check(CLI::Range(1, 1024));
    launch->add_option("--master-addr", options.masterAddr, "address of rank 0's TCP store (MASTER_ADDR)");
    launch->add_option("--master-port", options.masterPort, "port of rank 0's TCP store (MASTER_PORT); 0: a free one")
        ->check(CLI::Range(0, 65535));
    launch->add_flag("--quiet-workers", options.quietWorkers, "drop the standard output of ranks >= 1");
    launch->add_option("--grace", options.graceSeconds,
                       "seconds the other workers get to exit after one failed, before SIGKILL")
        ->check(nonNegativeNumber());
    launch->add_option("command", options.command, "the worker command, after --")->required();
    launch->footer("\nEvery worker gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT.\n"
                   "Rank 0's output passes through unchanged; the others' lines start with \"[rank R] \".\n"
                   "When a worker fails, the others are stopped (SIGTERM, then SIGKILL after --grace).\n");
}

int runLaunch(const LaunchOptions& options) {
    std::vector<std::string> command = options.command;
    // `srigl` and `srigl-engine` mean the ones next to this executable when they are there.
    if (command[0] == "srigl" || command[0] == "srigl-engine") {
        const std::string local = selfDirectory() + "/" + command[0];
        if (access(local.c_str(), X_OK) == 0) command[0] = local;
    }
    const int port = options.masterPort > 0 ? options.masterPort : freeLoopbackPort();
    if (port <= 0) {
        std::fprintf(stderr, "srigl launch: cannot find a free port (%s); pass --master-port\n", std::strerror(errno));
        return 1;
    }

    std::vector<Worker> workers(static_cast<size_t>(options.nproc));
    std::vector<Stream> streams;
    std::fflush(stdout);
    std::fflush(stderr);
    for (int r = 0; r < options.nproc; ++r) {
        int outPipe[2] = {-1, -1}, errPipe[2] = {-1, -1};
        // Rank 0 writes straight to our stdout/stderr: its JSON lines stay byte-for-byte what
        // `srigl train` prints alone.
        if (r > 0 && (pipe2(outPipe, O_CLOEXEC) != 0 || pipe2(errPipe, O_CLOEXEC) != 0)) {
            std::fprintf(stderr, "srigl launch: cannot create a pipe: %s\n", std::strerror(errno));
            return 1;
        }
        const pid_t pid = fork();
        if (pid < 0) {
            std::fprintf(stderr, "srigl launch: cannot start worker %d: %s\n", r, std::strerror(errno));
            for (auto& w : workers)
                if (w.running) kill(w.pid, SIGKILL);
            return 1;
        }
        if (pid == 0) {
            if (r > 0) {
                dup2(outPipe[1], STDOUT_FILENO);
                dup2(errPipe[1], STDERR_FILENO);
                // Only rank 0 may read the terminal.
                const int devNull = open("/dev/null", O_RDONLY);
                if (devNull >= 0) dup2(devNull, STDIN_FILENO);
            }
            setenv("RANK", std::to_string(r).c_str(), 1);
            setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
            setenv("WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
            setenv("LOCAL_WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
            setenv("MASTER_ADDR", options.masterAddr.c_str(), 1);
            setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
            std::vector<char*> argv;
            for (auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            execvp(argv[0], argv.data());
            std::fprintf(stderr, "srigl launch: cannot run '%s': %s\n", argv[0], std::strerror(errno));
            _exit(127);
        }
        workers[static_cast<size_t>(r)] = Worker{r, pid, true, 0};
        std::fprintf(stderr, "srigl launch: rank %d is process %d\n", r, static_cast<int>(pid));
        if (r > 0) {
            close(outPipe[1]);
            close(errPipe[1]);
            const std::string prefix = "[rank " + std::to_string(r) + "] ";
            streams.push_back(Stream{outPipe[0], stdout, prefix, options.quietWorkers, {}});
            streams.push_back(Stream{errPipe[0], stderr, prefix, false, {}});
        }
    }

    struct sigaction sa {};
    sa.sa_handler = onStopSignal;
    sigemptyset(&sa.sa_mask);
    struct sigaction oldInt {}, oldTerm {};
    sigaction(SIGINT, &sa, &oldInt);
    sigaction(SIGTERM, &sa, &oldTerm);

    using Clock = std::chrono::steady_clock;
    int exitCode = 0;
    bool stopping = false;
    bool forwarded = false;
    Clock::time_point killAt{};
    auto stopOthers = [&](int signal) {
        for (auto& w : workers)
            if (w.running) kill(w.pid, signal);
    };
    for (;;) {
        // Output first, so a worker's last words come before our verdict.
        std::vector<pollfd> fds;
        for (auto& s : streams)
            if (s.fd >= 0) fds.push_back(pollfd{s.fd, POLLIN, 0});
        if (!fds.empty()) poll(fds.data(), fds.size(), 100);
        else usleep(100 * 1000);
        for (auto& s : streams) {
            if (s.fd < 0) continue;
            for (const auto& p : fds) {
                if (p.fd != s.fd || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
                char buf[65536];
                const ssize_t n = read(s.fd, buf, sizeof buf);
                if (n > 0) {
                    s.pending.append(buf, static_cast<size_t>(n));
                    emitLines(s, false);
                } else if (n == 0 || errno != EINTR) {
                    emitLines(s, true);
                    close(s.fd);
                    s.fd = -1;
                }
            }
        }
        if (stopSignal && !forwarded) {
            // Ctrl-C reached the workers through the terminal already; SIGTERM covers `kill`.
            forwarded = true;
            stopOthers(SIGTERM);
            killAt = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options.graceSeconds * 1000));
            stopping = true;
        }
        // Every exit ready now, a worker killed by a signal first: when one is killed (the OOM killer),
        // its peers fail on the broken connection right after, and the report should name the cause.
        std::vector<std::pair<pid_t, int>> exits;
        {
            int status = 0;
            pid_t pid;
            while ((pid = waitpid(-1, &status, WNOHANG)) > 0) exits.emplace_back(pid, status);
        }
        std::stable_partition(exits.begin(), exits.end(), [](const auto& e) { return WIFSIGNALED(e.second); });
        for (const auto& [pid, status] : exits) {
            for (auto& w : workers) {
                if (w.pid != pid || !w.running) continue;
                w.running = false;
                w.status = status;
                const bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                if (failed && exitCode == 0) {
                    exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
                    if (!stopping) {
                        std::fprintf(stderr, "srigl launch: worker rank %d (process %d) %s; stopping the other "
                                             "workers\n", w.rank, static_cast<int>(w.pid), describeExit(status).c_str());
                        stopOthers(SIGTERM);
                        killAt = Clock::now() +
                                 std::chrono::milliseconds(static_cast<int64_t>(options.graceSeconds * 1000));
                        stopping = true;
                    }
                }
            }
        }
        bool anyRunning = false;
        for (const auto& w : workers) anyRunning = anyRunning || w.running;
        bool anyOpen = false;
        for (const auto& s : streams) anyOpen = anyOpen || s.fd >= 0;
        if (!anyRunning && !anyOpen) break;
        if (!anyRunning && anyOpen && stopping && Clock::now() > killAt) break; // a grandchild holds a pipe
        if (stopping && anyRunning && Clock::now() > killAt) {
            for (const auto& w : workers)
                if (w.running)
                    std::fprintf(stderr, "srigl launch: worker rank %d (process %d) did not stop within %.0f s; "
                                         "killing it\n", w.rank, static_cast<int>(w.pid), options.graceSeconds);
            stopOthers(SIGKILL);
            killAt = Clock::now() + std::chrono::seconds(5);
        }
    }
    sigaction(SIGINT, &oldInt, nullptr);
    sigaction(SIGTERM, &oldTerm, nullptr);
    if (exitCode != 0 && !stopSignal)
        std::fprintf(stderr, "srigl launch: the run failed (exit code %d)\n", exitCode);
    return exitCode;
}

} // namespace srigl::cli
