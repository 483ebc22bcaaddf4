#include "engine/distributed/batch_shard.hpp"

#include "engine/errors.hpp"

#include <stdexcept>
#include <string>

namespace srigl {

ShardRange shardOf(int64_t globalBatch, int rank, int worldSize) {
    if (worldSize < 1 || rank < 0 || rank >= worldSize)
        throw std::invalid_argument("shardOf: rank " + std::to_string(rank) + " outside a world of " +
                                    std::to_string(worldSize));
    if (globalBatch % worldSize != 0)
        throw ConfigError("batch_size", "the global batch of " + std::to_string(globalBatch) +
                                            " does not split evenly over " + std::to_string(worldSize) +
                                            " workers; use a multiple of the world size");
    const int64_t per = globalBatch / worldSize;
    return ShardRange{per * rank, per * (rank + 1)};
}

} // namespace srigl
