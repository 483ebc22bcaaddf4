// The dense twin of a run's model timed on random data of the run's batch shape: the reference a
// run's own step time is compared with (config key dense_reference_steps).
#pragma once

#include "engine/config/run_config.hpp"
#include "engine/training/training_observer.hpp"

#include <cstdint>

namespace srigl {

// What one training step of the run consumes: the batch a step trains on (a data-parallel rank's
// shard) and the dataset's image shape.
struct DenseReferenceShape {
    int64_t batch = 128;
    int64_t channels = 1, height = 28, width = 28, classes = 10;
};

struct DenseReferenceOptions {
    int steps = 3;                 // timed steps after one warm-up step
    int64_t memoryLimitBytes = -1; // a larger twin is skipped; -1: half of MemAvailable
};

// Bytes the twin holds between steps: weights, their gradients, the optimizer's state (per the
// config's optimizer) and the layers' masks. Built for shapes only: cheap for any size.
int64_t denseTwinBytes(const RunConfig& config, const DenseReferenceShape& shape);

// Builds config's model with every weight kept (method dense), on config.device, with config's
// optimizer, and times `options.steps` SGD-style steps (forward, loss, backward, optimizer step)
// after one warm-up step. Never throws for the twin itself: a twin too large for the memory limit,
// or one that fails, comes back unmeasured with the reason in `skipped`.
DenseReference measureDenseReference(const RunConfig& config, const DenseReferenceShape& shape,
                                     const DenseReferenceOptions& options = {});

// MemAvailable from /proc/meminfo in bytes; -1 where it cannot be read.
int64_t memAvailableBytes();

// For tests: the memory limit measureDenseReference uses when options say -1 (a trainer's
// measurement); -1 restores half of MemAvailable.
void setDefaultDenseReferenceMemoryLimit(int64_t bytes);

} // namespace srigl
