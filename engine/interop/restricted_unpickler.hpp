// Reads the pickle inside a torch.save file without running anything it names: only plain data
// (numbers, strings, tuples, lists, dicts, OrderedDicts) and tensors are built, every other class
// is refused by name, as Python's torch.load(weights_only=True) does.
//
// Why not LibTorch's own reader: torch::pickle_load (1.13) turns every collections.OrderedDict into
// None (it only expects one as a tensor's empty backward hooks), and a state_dict is an OrderedDict,
// so a plain model.state_dict() comes back as None. The zip container and the tensor records are
// still read with LibTorch (engine/interop/pytorch_file.hpp).
//
// The pickle itself is read by a Torch-free machine (engine/interop/pickle_machine.hpp, fuzzed
// without LibTorch by fuzz/fuzz_unpickler.cpp); this layer only makes tensors of its records.
#pragma once

#include "engine/interop/pickle_value.hpp"

#include <functional>
#include <string>

namespace srigl::interop {

// Returns the tensor data of a storage record: `numel` elements of `dtype` stored under `key`.
using StorageLoader = std::function<torch::Tensor(const std::string& key, torch::ScalarType dtype, int64_t numel)>;

// The object the pickle describes. Throws CheckpointError (without a file name, which the caller
// adds) for a malformed or truncated pickle, an opcode outside protocols 2-5's data subset, or a
// class that is not plain data or a tensor (the message names it, e.g. "numpy.core.multiarray.scalar").
PickleRef unpickle(const std::string& bytes, const StorageLoader& loadStorage);

} // namespace srigl::interop
