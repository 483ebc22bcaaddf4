// Reader for the CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin), with validation.
#pragma once

#include "engine/data/dataset.hpp"

#include <string>

namespace srigl {

// Parses one CIFAR-10 batch file: records of 1 label byte + 3072 pixel bytes (R, G, B planes of
// 32x32), plain or gzip. Returns images uint8 [N, 3, 32, 32] and labels int64 [N]. Any whole number
// of records from 1 to kMaxCifarRecords (60,000) is accepted; the size is checked before allocating.
DatasetSplit readCifarBatch(const std::string& path);

// Loads the five training batches (concatenated in order) or the test batch from dataDir or
// dataDir/cifar-10-batches-bin. Throws DataError naming the file and the problem.
DatasetSplit readCifarTrain(const std::string& dataDir);
DatasetSplit readCifarTest(const std::string& dataDir);

} // namespace srigl
