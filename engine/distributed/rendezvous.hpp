// Where a worker of a data-parallel run finds the others: the torchrun variables RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT and LOCAL_RANK (set by `srigl launch`, torchrun or a SLURM script).
#pragma once

#include <functional>
#include <string>

namespace srigl {

struct Rendezvous {
    int rank = 0;
    int worldSize = 1;
    int localRank = 0;
    std::string masterAddr;
    int masterPort = 0;
};

// Reads the variables through `lookup` (nullptr: unset). Throws ConfigError naming the variable
// when one is missing or invalid (e.g. RANK >= WORLD_SIZE, a port outside 1..65535).
Rendezvous rendezvousFrom(const std::function<const char*(const char*)>& lookup);
// The same from this process's environment.
Rendezvous rendezvousFromEnvironment();

} // namespace srigl
