// Data sharding: every rank trains on its own contiguous slice of each global batch, so N workers
// with slices of B/N see exactly the samples one worker sees with batch B.
#pragma once

#include <cstdint>

namespace srigl {

struct ShardRange {
    int64_t begin = 0;
    int64_t end = 0; // exclusive
};

// Throws ConfigError("batch_size") unless the global batch splits evenly: equal slices make the
// average of the per-rank mean gradients equal the gradient of the global batch.
ShardRange shardOf(int64_t globalBatch, int rank, int worldSize);

} // namespace srigl
