// The sparse layers of a PyTorch checkpoint: every Linear (2-D) and Conv2d (4-D) weight with its
// mask, as the plain snapshot types the store records and the Studio draws.
#pragma once

#include "engine/interop/state_dict.hpp"
#include "engine/training/training_observer.hpp"

#include <string>
#include <vector>

namespace srigl::interop {

struct CheckpointLayer {
    std::string name;           // the module's name in the state_dict, e.g. "fc1" or "features.0"
    std::vector<int64_t> shape; // the weight's
    std::string maskSource;     // the tensor the mask came from, or "nonzero weights"
    LayerMaskSnapshot mask;     // [out, fan_in] (a convolution's fan-in is in_channels * kh * kw)
    LayerWeightSnapshot weights; // W * M as float, [out, fan_in] row-major
    // As the trainer describes a mask; k is the fan-in when every active neuron has the same one
    // (the layer is constant fan-in, as SRigL's), else 0.
    LayerUpdateStats stats;
};

// Weights are the state_dict's floating-point 2-D or 4-D tensors named <layer>.weight, or
// <layer>.weight_orig (torch.nn.utils.prune), or <layer>.parametrizations.weight.original
// (torch.nn.utils.parametrize, as torch.ao.pruning and sparsimony attach masks). A layer's mask is
// the first tensor found of <layer>.weight_mask, <layer>.mask, <layer>_mask,
// <layer>.parametrizations.weight.0.mask in the state_dict, or of *.<layer>.weight.mask
// (a sparsifier's state_dict) and *masks.<layer> elsewhere in the file; nonzero entries are kept.
// Without one the mask is the weight's nonzeros. Throws CheckpointError naming `file` when there
// is no such weight, a weight has a dimension of size 0, or a mask's shape differs from its weight's.
std::vector<CheckpointLayer> checkpointLayers(const StateDict& stateDict, const std::string& file);

// readPyTorchFile + findStateDict + checkpointLayers: the layers of one checkpoint file.
std::vector<CheckpointLayer> readCheckpointLayers(const std::string& file);

// The mask of a [out, ...] tensor as packed bits of its [out, fan_in] view, with the rows that keep
// nothing as ablated neurons.
LayerMaskSnapshot packMask(const std::string& name, const torch::Tensor& mask);

} // namespace srigl::interop
