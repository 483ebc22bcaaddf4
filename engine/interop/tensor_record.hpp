// A tensor as a torch.save pickle describes it, before any element is read: which storage record of
// the zip holds its data, and the view of that storage it is. The Torch-free pickle machine
// (engine/interop/pickle_machine.hpp) checks these numbers; a thin LibTorch layer turns them into
// tensors (engine/interop/restricted_unpickler.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace srigl::interop {

struct TensorRecord {
    std::string storageKey;   // the zip record data/<key>
    std::string storageType;  // the storage class torch.save names: "FloatStorage", "LongStorage", ...
    int64_t storageNumel = 0; // elements of the storage, as the pickle first declared it
    int64_t offset = 0;       // storage offset of element 0
    std::vector<int64_t> sizes;
    std::vector<int64_t> strides;
    int64_t numel = 0; // elements of the view; when not 0, every one lies inside the storage
};

// Shared and immutable, as a tensor handle is: a parameter and the tensor it wraps are one tensor.
using TensorRecordRef = std::shared_ptr<const TensorRecord>;

} // namespace srigl::interop
