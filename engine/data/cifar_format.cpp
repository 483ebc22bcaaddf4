// CIFAR-10 records are fixed-size, so a plain file's size says everything before a byte is read; a
// gzip stream is read record by record and refused as soon as it holds more than a batch may.
#include "engine/data/cifar_format.hpp"

#include "engine/errors.hpp"

#include <array>

namespace srigl {

namespace {

DataError notWholeRecords(const std::string& name, uint64_t size)
{
    return DataError(name + ": size " + std::to_string(size) + " bytes is not a whole number of " +
                     std::to_string(kCifarRecord) + "-byte records (truncated or not a CIFAR-10 batch)");
}

DataError tooManyRecords(const std::string& name, const std::string& count)
{
    return DataError(name + ": holds " + count + " records, more than the limit of " +
                     std::to_string(kMaxCifarRecords) + " for one CIFAR-10 batch file");
}

} // namespace

CifarBatch parseCifarBatch(DataStream& in)
{
    CifarBatch batch;
    if (!in.compressed()) {
        const uint64_t size = in.storedSize();
        if (size == 0 || size % kCifarRecord != 0)
            throw notWholeRecords(in.name(), size);
        if (size / kCifarRecord > uint64_t(kMaxCifarRecords))
            throw tooManyRecords(in.name(), std::to_string(size / kCifarRecord));
        batch.labels.reserve(size / kCifarRecord);
        batch.pixels.reserve(size / kCifarRecord * kCifarPixels);
    }
    std::array<uint8_t, kCifarRecord> record{};
    uint64_t total = 0;
    for (;;) {
        const size_t got = in.read(record.data(), record.size());
        total += got;
        if (got == 0)
            break;
        if (got < record.size())
            throw notWholeRecords(in.name(), total);
        if (batch.count == kMaxCifarRecords)
            throw tooManyRecords(in.name(), "more than " + std::to_string(kMaxCifarRecords));
        if (record[0] > 9)
            throw DataError(in.name() + ": label " + std::to_string(record[0]) + " in record " +
                            std::to_string(batch.count) + " is outside 0-9");
        batch.labels.push_back(record[0]);
        // The file stores the R, G and B planes one after another, already channel-first.
        batch.pixels.insert(batch.pixels.end(), record.begin() + 1, record.end());
        ++batch.count;
    }
    if (batch.count == 0)
        throw notWholeRecords(in.name(), 0);
    return batch;
}

CifarBatch parseCifarBatch(const uint8_t* data, size_t size, const std::string& name)
{
    DataStream in = DataStream::fromMemory(data, size, name);
    return parseCifarBatch(in);
}

} // namespace srigl
