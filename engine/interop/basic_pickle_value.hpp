// A value read from a Python pickle, over any tensor type: the restricted reader's Torch-free pickle
// machine (engine/interop/pickle_machine.hpp) builds it with plain tensor records, so that it can be
// fuzzed without LibTorch; the engine sees it with torch::Tensor (engine/interop/pickle_value.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace srigl::interop {

template <typename TensorData>
struct BasicPickleValue {
    // Shared because pickles share objects through their memo: a list or dict filled after it was
    // memoised must be the same object everywhere it is referenced.
    using Ref = std::shared_ptr<BasicPickleValue>;

    enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Tensor, Storage, Global };
    Kind kind = Kind::None;
    bool boolean = false;
    int64_t integer = 0;
    double real = 0.0;
    std::string text;  // String, Bytes; Global: the module
    std::string name;  // Global: the name inside the module
    std::vector<Ref> items;                    // Tuple, List
    std::vector<std::pair<Ref, Ref>> entries;  // Dict, in insertion order
    TensorData tensor;                         // Tensor; Storage: its elements, 1-D
    int depth = 0; // containers nested inside this one (the reader refuses absurd nesting)

    static Ref make(Kind kind) {
        auto v = std::make_shared<BasicPickleValue>();
        v->kind = kind;
        return v;
    }
    bool is(Kind k) const { return kind == k; }
};

} // namespace srigl::interop
