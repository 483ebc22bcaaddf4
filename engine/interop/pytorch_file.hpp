// PyTorch's torch.save file (the zip format of PyTorch 1.6 and later) read into plain values and
// tensors, and a state_dict written so that Python's torch.load reads it.
#pragma once

#include "engine/interop/pickle_value.hpp"

#include <string>
#include <vector>

namespace srigl::interop {

struct NamedTensor {
    std::string name;
    torch::Tensor tensor;
};

// The object torch.save wrote, tensors on the CPU. Throws CheckpointError naming `path` when it is
// missing, a folder, not a zip, a truncated or damaged zip, a legacy (pre-1.6) torch.save file, or
// a pickle with a class that is not plain data or a tensor.
PickleRef readPyTorchFile(const std::string& path);

// A dict {name: tensor} in the order given, written with LibTorch's pickler in torch.save's layout and
// without type tags, so torch.load(path) returns it, weights_only too; tensors are copied to the CPU,
// contiguous. Throws CheckpointError.
void writePyTorchStateDict(const std::string& path, const std::vector<NamedTensor>& tensors);

} // namespace srigl::interop
