// How a data-parallel run moves its gradients (no Torch here: the trainer's header and the CLI's
// options include it).
#pragma once

#include <cstdint>

namespace srigl {

// Buckets of 256K floats (1 MB): a deep model gets several, so that the classifier's buckets are
// on the wire while backward still computes the first layers.
struct DataParallelOptions {
    int64_t bucketElements = int64_t(1) << 18;
    bool overlap = true; // all-reduce buckets from autograd hooks during backward
};

} // namespace srigl
