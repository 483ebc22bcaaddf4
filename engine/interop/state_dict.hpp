// Where a checkpoint keeps its model's tensors: the state_dict itself, or a dict around it as
// training scripts save them ({"state_dict": ..., "optimizer": ..., "epoch": ...}).
#pragma once

#include "engine/interop/pytorch_file.hpp"

#include <string>
#include <vector>

namespace srigl::interop {

struct StateDict {
    std::string path; // where it was found in the file, dotted ("" at the top, "model", "checkpoint.state_dict")
    std::vector<NamedTensor> tensors;
    // Every tensor of the file with its dotted path from the top (dict keys, list indices), the
    // state_dict's included: masks may sit beside it, e.g. in a pruning library's own state.
    std::vector<NamedTensor> everything;
};

// The dict of tensors that is the model: the top-level object when it holds tensors, else the
// first dict found under state_dict, model_state_dict, model, net, network, module or
// state (searched breadth first), else the first dict holding a 2-D or 4-D tensor named *weight*.
// Throws CheckpointError naming `file` when there is no dict of tensors at all.
StateDict findStateDict(const PickleValue& root, const std::string& file);

} // namespace srigl::interop
