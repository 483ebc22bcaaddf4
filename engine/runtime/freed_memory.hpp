// malloc's release policy while training runs.
//
// glibc's malloc hands a freed block of 32 MiB or more (its largest mmap threshold) straight back to
// the system, so a training step that allocates the same large tensors at every step (ResNet-18's
// first-stage activations at batch 128 are 33.5 MB each, a 4096 x 4096 gradient 64 MiB) maps fresh
// pages each time and pays a page fault for each of them, even in 2 MiB pages: on the 2-core AMD EPYC
// VM a new 33.5 MB tensor took 19-41 ms to fill, a reused one 2.5-5 ms. Whole ResNet-18 steps at batch
// 128 ran about 25% faster, the dense MLP 784-4096-4096-10's 10-20%, with freed blocks kept for the next
// step (docs/benchmarks.md, "Freed memory kept for the next step"). The price is memory: the heap
// keeps the run's peak until it is handed back, and its fragments raise the peak RSS by 10-30%.
#pragma once

#include <cstdint>
#include <optional>

namespace srigl {

// While one of these is active (any number may live at once, on any threads), malloc serves every
// block from its heap (M_MMAP_MAX 0) and keeps what is freed there for reuse (M_TRIM_THRESHOLD 2 GiB,
// the most mallopt takes: only a free top beyond that goes back);
// when the last active one goes, malloc maps blocks from 32 MiB and trims its heap's top beyond 64 MiB
// again (glibc's own adaptive thresholds settle there) and the free pages are handed back. Inactive
// (changes nothing) where malloc is not glibc's, and where the user chose a release policy in
// GLIBC_TUNABLES (glibc.malloc.mmap_max, mmap_threshold or trim_threshold): theirs stands.
class KeptFreedMemory {
public:
    KeptFreedMemory();
    ~KeptFreedMemory();
    KeptFreedMemory(const KeptFreedMemory&) = delete;
    KeptFreedMemory& operator=(const KeptFreedMemory&) = delete;
    bool active() const { return active_; }

private:
    bool active_ = false;
};

// True while some KeptFreedMemory is active.
bool freedMemoryKept();

// Hands the heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing): where a
// large peak is over and will not come back soon.
void returnFreedMemory();

// The trainer's rule: keep freed blocks only where memory is plentiful, since the heap's fragments add
// to the peak. At the start, when the run's lower-bound estimate is at most an eighth of the memory
// available (nothing known: no); while it trains, until the available memory falls below a quarter of
// what it was at the start (then the run hands its free pages back and goes on without keeping them).
bool keepFreedMemoryFor(uint64_t estimateBytes, std::optional<uint64_t> availableBytes);
bool stillRoomForKeptMemory(uint64_t availableNow, uint64_t availableAtStart);

} // namespace srigl
