#include "engine/training/archive_tensors.hpp"

#include <cstring>

namespace srigl {

torch::Tensor textTensor(const std::string& text) {
    auto t = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
    std::memcpy(t.data_ptr<uint8_t>(), text.data(), text.size());
    return t;
}

std::string tensorText(const torch::Tensor& t) {
    auto c = t.to(torch::kCPU).contiguous();
    return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

torch::Tensor readTensor(torch::serialize::InputArchive& archive, const std::string& key, bool buffer) {
    torch::Tensor t;
    archive.read(key, t, buffer);
    return t;
}

} // namespace srigl
