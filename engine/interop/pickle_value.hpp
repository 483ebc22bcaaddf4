// A value read from a Python pickle (engine/interop/restricted_unpickler.hpp): the few kinds a
// torch.save of a state_dict or of a training checkpoint holds, with its tensors as LibTorch tensors.
#pragma once

#include "engine/interop/basic_pickle_value.hpp"

#include <torch/torch.h>

namespace srigl::interop {

using PickleValue = BasicPickleValue<torch::Tensor>;
using PickleRef = PickleValue::Ref;

} // namespace srigl::interop
