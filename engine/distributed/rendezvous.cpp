// Parsing of the rendezvous variables: strict, so a typo in a cluster script fails at once with
// the variable's name instead of hanging in the TCP store.
#include "engine/distributed/rendezvous.hpp"

#include "engine/errors.hpp"

#include <cerrno>
#include <cstdlib>

namespace srigl {
namespace {

long parseInteger(const char* name, const char* text, long low, long high) {
    if (!text || !*text)
        throw ConfigError(name, std::string("environment variable ") + name +
                                    " is not set (start the workers with `srigl launch`, torchrun or srun; "
                                    "see docs/distributed.md)");
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < low || v > high)
        throw ConfigError(name, std::string("environment variable ") + name + "='" + text +
                                    "' is not an integer in " + std::to_string(low) + ".." + std::to_string(high));
    return v;
}

} // namespace

Rendezvous rendezvousFrom(const std::function<const char*(const char*)>& lookup) {
    Rendezvous r;
    r.worldSize = static_cast<int>(parseInteger("WORLD_SIZE", lookup("WORLD_SIZE"), 1, 65536));
    r.rank = static_cast<int>(parseInteger("RANK", lookup("RANK"), 0, r.worldSize - 1));
    // LOCAL_RANK only matters for picking a GPU; a missing one means the process is alone on its host.
    const char* local = lookup("LOCAL_RANK");
    r.localRank = local && *local ? static_cast<int>(parseInteger("LOCAL_RANK", local, 0, 65535)) : 0;
    const char* addr = lookup("MASTER_ADDR");
    if (!addr || !*addr)
        throw ConfigError("MASTER_ADDR", "environment variable MASTER_ADDR is not set (the host of rank 0, "
                                         "e.g. 127.0.0.1 for workers on one machine)");
    r.masterAddr = addr;
    r.masterPort = static_cast<int>(parseInteger("MASTER_PORT", lookup("MASTER_PORT"), 1, 65535));
    return r;
}

Rendezvous rendezvousFromEnvironment() {
    return rendezvousFrom([](const char* name) { return std::getenv(name); });
}

} // namespace srigl
