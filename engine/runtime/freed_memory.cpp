// malloc's release policy while training runs (see freed_memory.hpp).
#include "engine/runtime/freed_memory.hpp"
#include "engine/runtime/compute_environment.hpp"

#include <cstdlib>
#include <mutex>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace srigl {
namespace {

std::mutex gMutex;
int gActive = 0; // active KeptFreedMemory objects, under gMutex

// A release policy the user set for glibc's malloc through GLIBC_TUNABLES.
bool userChosePolicy() {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    for (const char* name : {"glibc.malloc.mmap_max", "glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold"})
        if (tunableIn(tunables, name)) return true;
    return false;
}

} // namespace

KeptFreedMemory::KeptFreedMemory() {
#if defined(__GLIBC__)
    if (userChosePolicy()) return;
    std::lock_guard<std::mutex> lock(gMutex);
    if (gActive++ == 0) {
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, 0x7fffffff); // mallopt takes an int
    }
    active_ = true;
#endif
}

KeptFreedMemory::~KeptFreedMemory() {
#if defined(__GLIBC__)
    if (!active_) return;
    std::lock_guard<std::mutex> lock(gMutex);
    if (--gActive == 0) {
        mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
        mallopt(M_MMAP_MAX, 65536); // glibc's default
        malloc_trim(0);
    }
#endif
}

bool freedMemoryKept() {
    std::lock_guard<std::mutex> lock(gMutex);
    return gActive > 0;
}

void returnFreedMemory() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

bool keepFreedMemoryFor(uint64_t estimateBytes, std::optional<uint64_t> availableBytes) {
    return availableBytes && estimateBytes <= *availableBytes / 8;
}

bool stillRoomForKeptMemory(uint64_t availableNow, uint64_t availableAtStart) {
    return availableNow >= availableAtStart / 4;
}

} // namespace srigl
