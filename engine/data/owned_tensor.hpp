// A uint8 tensor over a byte vector the tensor takes over: parsed data files reach Torch without a
// second copy of (up to a gigabyte of) pixels.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace srigl {

inline torch::Tensor tensorOwning(std::vector<uint8_t>&& bytes, const std::vector<int64_t>& sizes)
{
    auto owner = std::make_unique<std::vector<uint8_t>>(std::move(bytes));
    uint8_t* data = owner->data();
    auto tensor = torch::from_blob(
        data, sizes, [keep = owner.get()](void*) { delete keep; }, torch::kUInt8);
    owner.release(); // the tensor's deleter owns it now
    return tensor;
}

} // namespace srigl
