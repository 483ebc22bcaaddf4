// NumPy .npy files (format 1.0, little-endian, C order): how condensed models are exported so
// that NumPy and PyTorch (torch.from_numpy(numpy.load(f))) read them with no SRigL code.
#pragma once

#include <torch/torch.h>

#include <string>

namespace srigl {

// float32, float64, int16, int32, int64, uint8 and bool tensors; throws InferenceError on failure.
void writeNpy(const std::string& path, const torch::Tensor& tensor);
torch::Tensor readNpy(const std::string& path);

} // namespace srigl
