// Thread pools of LibTorch and OpenBLAS.
#include "engine/runtime/threading.hpp"
#include "engine/runtime/compute_environment.hpp"

#include <torch/torch.h>

#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace srigl {
namespace {

// OpenBLAS is reached through the libblas.so.3 alternative, so look its symbols up at run time
// rather than linking it: with another BLAS these are simply absent.
using SetThreads = void (*)(int);
using GetThreads = int (*)();
using GetConfig = char* (*)();

template <typename Fn>
Fn blasSymbol(const char* name) {
    return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

} // namespace

ThreadingInfo currentThreading() {
    ThreadingInfo info;
    info.torchThreads = torch::get_num_threads();
    if (auto get = blasSymbol<GetThreads>("openblas_get_num_threads")) info.blasThreads = get();
    if (auto cfg = blasSymbol<GetConfig>("openblas_get_config")) info.blas = cfg();
    else info.blas = "unknown (not OpenBLAS)";
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    info.ompWaitPolicy = policy ? policy : "unset";
    info.malloc = mallocSetting();
    return info;
}

ThreadingInfo configureThreads(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
    if (auto set = blasSymbol<SetThreads>("openblas_set_num_threads")) set(threads);
    return currentThreading();
}

bool lowerCurrentThreadPriority(int niceness) {
#if defined(__linux__)
    // On Linux the nice value belongs to the thread (its kernel task id), not to the process.
    const auto tid = static_cast<id_t>(syscall(SYS_gettid));
    errno = 0;
    const int current = getpriority(PRIO_PROCESS, tid);
    if (errno != 0) return false;
    return setpriority(PRIO_PROCESS, tid, std::min(19, current + std::max(0, niceness))) == 0;
#else
    (void)niceness;
    return false;
#endif
}

void ensureComputeEnvironment(int argc, char** argv) {
    if (std::getenv("SRIGL_NO_REEXEC") || !addComputeEnvironment()) return;
    setenv("SRIGL_NO_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    // execv only returns on failure: carry on with the defaults.
    (void)argc;
}

} // namespace srigl
