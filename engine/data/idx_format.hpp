// IDX parsing (MNIST, Fashion-MNIST) without Torch: the header's declared sizes are checked against
// the file and a memory limit before anything is allocated. idx_reader.hpp makes tensors of it.
#pragma once

#include "engine/data/file_bytes.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

// Largest IDX content accepted, header included: 1 GiB, twice EMNIST's largest file (550 MB) and
// twenty times MNIST's. A header declaring more is refused before a byte of data is read.
constexpr uint64_t kMaxIdxBytes = uint64_t(1) << 30;

struct IdxImages {
    uint32_t count = 0;
    uint32_t rows = 0;
    uint32_t cols = 0;
    std::vector<uint8_t> pixels; // count * rows * cols bytes, image after image, row-major
};

// An IDX image file (magic 0x00000803) / label file (magic 0x00000801, every label in 0-9), read to
// its end. Throws DataError naming the stream and the problem (bad magic, truncated, trailing bytes,
// too large, bad label).
IdxImages parseIdxImages(DataStream& in);
std::vector<uint8_t> parseIdxLabels(DataStream& in);

// The same from memory, plain or gzip (tests and fuzzing); `name` stands for the file in messages.
IdxImages parseIdxImages(const uint8_t* data, size_t size, const std::string& name);
std::vector<uint8_t> parseIdxLabels(const uint8_t* data, size_t size, const std::string& name);

} // namespace srigl
