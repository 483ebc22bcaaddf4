// A value read from a Python pickle (engine/interop/restricted_unpickler.hpp): the few kinds a
// torch.save of a state_dict or of a training checkpoint holds.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace srigl::interop {

struct PickleValue;
// Shared because pickles share objects through their memo: a list or dict filled after it was
// memoised must be the same object everywhere it is referenced.
using PickleRef = std::shared_ptr<PickleValue>;

struct PickleValue {
    enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Tensor, Storage, Global };
    Kind kind = Kind::None;
    bool boolean = false;
    int64_t integer = 0;
    double real = 0.0;
    std::string text;  // String, Bytes; Global: the module
    std::string name;  // Global: the name inside the module
    std::vector<PickleRef> items;                        // Tuple, List
    std::vector<std::pair<PickleRef, PickleRef>> entries; // Dict, in insertion order
    torch::Tensor tensor;                                 // Tensor; Storage: its elements, 1-D
    int depth = 0; // containers nested inside this one (the reader refuses absurd nesting)

    static PickleRef make(Kind kind) {
        auto v = std::make_shared<PickleValue>();
        v->kind = kind;
        return v;
    }
    bool is(Kind k) const { return kind == k; }
};

} // namespace srigl::interop
