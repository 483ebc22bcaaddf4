// A lower bound of the memory a run's sparse layers hold from their first training step, and the
// memory this machine has for it: a model that surely cannot fit is refused before anything big is
// allocated, with a message that names the layer that weighs most (instead of an OOM kill mid-build).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace srigl {

struct RunConfig;

// What decides one sparse layer's memory, known before any of it is allocated.
struct LayerMemoryFacts {
    std::string name;
    int64_t out = 0;
    int64_t fanIn = 0;          // in * kh * kw
    int64_t k = 0;              // kept inputs per neuron of a condensed layer ([out, k] values)
    std::string path = "dense"; // the compute path it starts on: "condensed" | "masked_dense" | "dense"
    bool dynamic = false;       // its mask changes while it trains (set, rigl, srigl below density 1)
    bool bias = false;
};

struct LayerMemory {
    LayerMemoryFacts facts;
    uint64_t bytes = 0;
};

struct MemoryEstimate {
    uint64_t bytes = 0;
    std::vector<LayerMemory> layers; // one per fact, in order
    // The layer that weighs most (layers is empty: none).
    const LayerMemory* largest() const;
};

// Bytes of optimizer state per trained value: AdamW's two moments, SGD's momentum buffer. SGD
// without momentum counts none (the Optimizer allocates a buffer even then; a lower bound may omit it).
int optimizerStateBytes(const std::string& optimizer, double momentum);

// Index bytes per kept weight of a condensed layer: int16 while every input index fits, else int32
// (the rule of makeCondensed in engine/models/condensed_weights.cpp).
int condensedIndexBytes(int64_t fanIn);

// The bytes the layers will certainly hold during the first step. Deliberately a LOWER bound, so
// that the check refuses only what surely cannot fit: it leaves out activations, temporaries of the
// initialisation, other parameters (batch norm), the data set and LibTorch itself. Per weight held
// dense: value 4, gradient 4, bool mask 1 and its float factor 4, optimizer state, and for a dynamic
// layer the dense gradient sum 4. Per kept weight of a condensed layer: value 4, index 2 or 4,
// gradient 4, optimizer state (plus its float row mask, 4 per neuron).
MemoryEstimate estimateTrainingMemory(const std::vector<LayerMemoryFacts>& layers, int optimizerStateBytesPerValue);

struct AvailableMemory {
    uint64_t bytes = 0;
    std::string source; // what limited it, in words for the message
};

// MemAvailable + SwapFree (from the text of /proc/meminfo); nullopt when either is missing.
std::optional<uint64_t> meminfoAvailable(const std::string& meminfo);
// What one cgroup leaves to this process: limit - usage + its page cache (reclaimable) + free swap.
// The files' text: v2 memory.max / memory.current / memory.stat ("file"), or v1
// memory.limit_in_bytes / memory.usage_in_bytes / memory.stat ("total_cache" or "cache"). nullopt for
// no limit ("max", or v1's huge "unlimited" value) or text that is not a number.
std::optional<uint64_t> cgroupRoom(const std::string& limit, const std::string& usage, const std::string& stat,
                                   uint64_t swapFree);
// This machine: meminfoAvailable, lowered to the room of this process's cgroups (v2, and v1's memory
// controller) and of their ancestors where those set a limit. nullopt when /proc/meminfo cannot be
// read: then nothing is checked.
std::optional<AvailableMemory> availableMemory();

// Throws ConfigError when the estimate exceeds what is available (nothing known: no check), naming
// the largest layer and its path. The key follows that layer's path: sparse_compute (masked_dense,
// which condensed would shrink), sparsity (already condensed), method (dense).
void requireMemoryFits(const MemoryEstimate& estimate, const std::optional<AvailableMemory>& available);

// "317.9 GiB" (GiB as a rule; MiB or bytes only for small sizes).
std::string formatMemorySize(uint64_t bytes);

// The facts of a run's sparse layers from its config alone (shapes only, nothing allocated): what
// the Trainer checks, for tests and planners. Defined in trainer.cpp beside planRun, since it plans
// the layers as the trainer does.
std::vector<LayerMemoryFacts> plannedMemoryFacts(const RunConfig& config);

} // namespace srigl
