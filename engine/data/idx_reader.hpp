// Reader for the IDX files of MNIST and Fashion-MNIST (raw or .gz), with strict validation.
#pragma once

#include "engine/data/dataset.hpp"

#include <string>

namespace srigl {

// Parses an IDX image file (magic 0x00000803): uint8 [N, 1, rows, cols]. The header's declared size
// is checked against the file (a .gz against deflate's ratio and the stream) and kMaxIdxBytes before
// anything is allocated (idx_format.hpp).
torch::Tensor readIdxImages(const std::string& path);
// Parses an IDX label file (magic 0x00000801): int64 [N], every label in 0-9.
torch::Tensor readIdxLabels(const std::string& path);

// Loads one split from dataDir: prefix "train" reads train-images-idx3-ubyte and
// train-labels-idx1-ubyte, prefix "t10k" the test files; each may carry a .gz suffix.
// Throws DataError naming the file and the problem (missing, truncated, bad magic, bad label, counts
// that disagree).
DatasetSplit readIdxSplit(const std::string& dataDir, const std::string& prefix);

} // namespace srigl
