// The restricted reader's pickle machine without LibTorch: it reads the pickle inside a torch.save
// file without running anything it names, builds plain data and a TensorRecord for each tensor, and
// checks every number a tensor is rebuilt from. Torch-free so that the libFuzzer target
// (fuzz/fuzz_unpickler.cpp) runs it with full sanitizers and no LibTorch build; the engine calls it
// through engine/interop/restricted_unpickler.hpp, which turns the records into tensors.
#pragma once

#include "engine/errors.hpp"
#include "engine/interop/basic_pickle_value.hpp"
#include "engine/interop/tensor_record.hpp"

#include <functional>
#include <string>

namespace srigl::interop {

using PickleRecord = BasicPickleValue<TensorRecordRef>;
using PickleRecordRef = PickleRecord::Ref;

// The most elements a tensor view may name beyond its storage's size (a view with stride 0 repeats
// elements, and its copy owns every one): a small file must not make the reader allocate gigabytes.
// 2^28 float32 elements are 1 GiB.
constexpr int64_t kMaxRepeatedTensorElements = int64_t{1} << 28;

// Called once per storage key, the first time the pickle names it, in stream order, with the whole
// storage as a 1-D record: the caller loads it there, so a missing record fails where it is named.
using StorageSeen = std::function<void(const TensorRecord& storage)>;

// The object the pickle describes. Throws CheckpointError (without a file name, which the caller
// adds) for a malformed or truncated pickle, an opcode outside protocols 2-5's data subset, a class
// that is not plain data or a tensor (the message names it, e.g. "numpy.core.multiarray.scalar"),
// or a tensor view reaching outside its storage. `onStorage` may throw CheckpointError too.
PickleRecordRef readPickleRecords(const std::string& bytes, const StorageSeen& onStorage);

// The error for a pickle that breaks the format: "malformed pickle: <what>".
CheckpointError malformedPickle(const std::string& what);

} // namespace srigl::interop
