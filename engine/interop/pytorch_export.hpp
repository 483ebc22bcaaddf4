// A trained sparse model handed back to PyTorch: its state_dict as torch.load reads it, plus a
// check pair (an input and the engine's output for it) that proves PyTorch computes the same.
#pragma once

#include "engine/interop/pytorch_file.hpp"
#include "engine/models/sparse_model.hpp"

#include <string>
#include <vector>

namespace srigl::interop {

// Every parameter and buffer of the model by its module path (fc1.weight, fc1.bias, bn1.running_mean,
// ...), each sparse layer's weight as the dense W * M in its torch.nn shape ([out, in] or
// [out, in, kh, kw], also when the layer trains condensed) and its mask as a bool tensor
// <layer>.mask of the same shape.
std::vector<NamedTensor> sparseStateDict(SparseModelImpl& model);

// The check pair: {"input": x, "output": model(x)} for `batch` inputs of the given shape drawn
// from a normal distribution with a fixed seed, the model in eval mode.
std::vector<NamedTensor> checkPair(SparseModelImpl& model, const InputShape& input, int64_t batch = 8);

// Where the check pair of an export at `path` goes: model.pt -> model.check.pt.
std::string checkPathFor(const std::string& path);
// Where the trained module of a model=torchscript run goes: model.pt -> model.script.pt.
std::string scriptPathFor(const std::string& path);

} // namespace srigl::interop
