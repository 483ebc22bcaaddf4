// Tensors as SRigL Studio's checkpoints hold them: text (the run's config, layer names) as uint8
// tensors, and reads that give a fresh tensor per key.
#pragma once

#include <torch/torch.h>

#include <string>

namespace srigl {

torch::Tensor textTensor(const std::string& text);
std::string tensorText(const torch::Tensor& t);

// A fresh tensor per read: InputArchive::read into a defined tensor re-points that tensor with
// set_, which silently reinterprets the storage when the dtypes differ.
torch::Tensor readTensor(torch::serialize::InputArchive& archive, const std::string& key, bool buffer = false);

} // namespace srigl
