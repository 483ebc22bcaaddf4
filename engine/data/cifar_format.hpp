// CIFAR-10 binary batch parsing without Torch: records of 1 label byte + 3072 pixel bytes (R, G, B
// planes of 32x32), sizes checked before anything is allocated. cifar_reader.hpp makes tensors of it.
#pragma once

#include "engine/data/file_bytes.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarPixels = 3 * kCifarSide * kCifarSide;
constexpr int64_t kCifarRecord = 1 + kCifarPixels;
// Most records accepted in one batch file: all of CIFAR-10 (an official batch holds 10,000).
constexpr int64_t kMaxCifarRecords = 60000;

struct CifarBatch {
    int64_t count = 0;
    std::vector<uint8_t> labels; // count labels in 0-9
    std::vector<uint8_t> pixels; // count * 3072 bytes, channel-first per image
};

// One batch, read to its end: any whole number (1 to kMaxCifarRecords) of records. Throws DataError
// naming the stream and the problem (not whole records, too many, a label outside 0-9).
CifarBatch parseCifarBatch(DataStream& in);
// The same from memory, plain or gzip (tests and fuzzing); `name` stands for the file in messages.
CifarBatch parseCifarBatch(const uint8_t* data, size_t size, const std::string& name);

} // namespace srigl
