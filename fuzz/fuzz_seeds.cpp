// Writes the seed corpus of every fuzz target (scripts/make_fuzz_corpus.sh runs it): valid inputs
// made by the real encoders, so the seeds stay valid when a format changes, plus a few near misses.
// Usage: fuzz_seeds CORPUS_DIR  (writes CORPUS_DIR/<target>/seed-*; never committed).
#include "engine/config/run_config.hpp"
#include "fuzz/fuzz_support.hpp"
#include "sessions/store/mask_codec.hpp"
#include "sessions/store/weight_codec.hpp"
#ifdef SRIGL_FUZZ_CHECKPOINT
#include "engine/training/checkpoint_file.hpp"
#endif

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

namespace {

class SeedDir {
public:
    SeedDir(const fs::path& root, const std::string& target) : dir_(root / target) { fs::create_directories(dir_); }
    void add(const Bytes& bytes) {
        std::ofstream out(dir_ / ("seed-" + std::to_string(next_++)), std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    void add(const std::string& text) { add(Bytes(text.begin(), text.end())); }
    void addWithGzip(const Bytes& bytes) {
        add(bytes);
        add(srigl::fuzz::gzipBytes(bytes.data(), bytes.size()));
    }

private:
    fs::path dir_;
    int next_ = 0;
};

void bigEndian(Bytes& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

template <typename T>
void little(Bytes& out, T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof v);
}

Bytes idxImages(uint32_t count, uint32_t rows, uint32_t cols) {
    Bytes out;
    for (uint32_t w : {0x803u, count, rows, cols}) bigEndian(out, w);
    for (uint32_t i = 0; i < count * rows * cols; ++i) out.push_back(static_cast<uint8_t>(i * 7));
    return out;
}

Bytes idxLabels(uint32_t count) {
    Bytes out;
    for (uint32_t w : {0x801u, count}) bigEndian(out, w);
    for (uint32_t i = 0; i < count; ++i) out.push_back(static_cast<uint8_t>(i % 10));
    return out;
}

Bytes cifarRecords(int count) {
    Bytes out;
    for (int r = 0; r < count; ++r) {
        out.push_back(static_cast<uint8_t>(r % 10));
        for (int i = 0; i < 3072; ++i) out.push_back(static_cast<uint8_t>((i / 32 + r) & 0xFF));
    }
    return out;
}

void idxSeeds(const fs::path& root) {
    SeedDir d(root, "fuzz_idx");
    d.addWithGzip(idxImages(3, 4, 3));
    d.addWithGzip(idxImages(1, 28, 28));
    d.addWithGzip(idxLabels(12));
    Bytes twoMembers = srigl::fuzz::gzipBytes(idxLabels(5).data(), 8);
    const Bytes rest = idxLabels(5);
    const Bytes second = srigl::fuzz::gzipBytes(rest.data() + 8, rest.size() - 8);
    twoMembers.insert(twoMembers.end(), second.begin(), second.end());
    d.add(twoMembers); // gzip members concatenate
    Bytes cut = idxImages(2, 2, 2);
    cut.pop_back();
    d.add(cut); // truncated
    d.add(Bytes{0, 0, 8, 3, 0, 0, 0, 1}); // a header alone
}

void cifarSeeds(const fs::path& root) {
    SeedDir d(root, "fuzz_cifar");
    d.addWithGzip(cifarRecords(1));
    d.add(srigl::fuzz::gzipBytes(cifarRecords(2).data(), 2 * 3073));
    d.add(Bytes(3072, 1)); // one byte short of a record
}

void configSeeds(const fs::path& root) {
    SeedDir d(root, "fuzz_config");
    using namespace std::string_literals;
    d.add(srigl::configToJson(srigl::RunConfig{}, -1));
    d.add(R"({"method": "rigl", "sparsity": 0.95, "epochs": 2})"s + "\0lr=0.05\0name=caf\xc3\xa9\0nesterov=false"s);
    d.add("{}\0hidden=64,32\0lr_schedule=step\0lr_milestones=1,2\0seed=18446744073709551615"s);
    d.add(R"({"nm": "2:4", "method": "nm_transposable", "nm_solver": "exact"})"s + "\0batch_size=1e3\0dense_first=yes"s);
    d.add(R"({"name": [[[1]]], "lr": 1e-300})"s);
}

void maskSeeds(const fs::path& root) {
    SeedDir d(root, "fuzz_mask_codec");
    for (size_t n : {size_t(0), size_t(37), size_t(1000)}) {
        Bytes raw(n);
        for (size_t i = 0; i < n; ++i) raw[i] = static_cast<uint8_t>(i % 3 == 0 ? 0xFF : i);
        Bytes seed;
        little<uint64_t>(seed, n);
        const Bytes packed = srigl::sessions::compressBytes(raw);
        seed.insert(seed.end(), packed.begin(), packed.end());
        d.add(seed);
    }
    Bytes ids;
    little<uint64_t>(ids, 0);
    const Bytes encoded = srigl::sessions::encodeIds({3, 17, -1, 299});
    ids.insert(ids.end(), encoded.begin(), encoded.end());
    d.add(ids);
}

// The weight target's input: value count, mask shape, mask bits (length first), then the blob.
Bytes weightInput(uint64_t count, int64_t out, int64_t fanIn, const Bytes& mask, const Bytes& blob) {
    Bytes seed;
    little<uint64_t>(seed, count);
    little<int64_t>(seed, out);
    little<int64_t>(seed, fanIn);
    little<uint16_t>(seed, static_cast<uint16_t>(mask.size()));
    seed.insert(seed.end(), mask.begin(), mask.end());
    seed.insert(seed.end(), blob.begin(), blob.end());
    return seed;
}

void weightSeeds(const fs::path& root) {
    SeedDir d(root, "fuzz_weight_codec");
    const std::vector<float> values = {0.5f, -1.25f, 3e-5f, 65504.0f, 0.0f, -0.0f, 1e-8f};
    const Bytes blob = srigl::sessions::encodeWeights(values);
    d.add(weightInput(values.size(), 2, 4, Bytes{0x5F}, blob));
    d.add(weightInput(values.size(), 3, 3, Bytes{0x7F, 0x00}, blob));
    d.add(weightInput(0, 1, 7, Bytes{0x7F}, srigl::sessions::encodeCounts({0, 5, 12, 4000000, 1})));
}

#ifdef SRIGL_FUZZ_CHECKPOINT
void checkpointSeeds(const fs::path& root) {
    SeedDir d(root, "fuzz_checkpoint");
    const std::string archive = std::string("PK\x03\x04", 4) + std::string(26, '\0') + "archive/data.pkl";
    srigl::CheckpointHeader header;
    header.runUuid = "0f5c2b1e-8d3a-4c7e-9b61-2a4d8e6f1c30";
    header.step = 400;
    d.add(srigl::encodeCheckpoint(header, archive));
    d.add(srigl::encodeCheckpoint(srigl::CheckpointHeader{}, ""));
    d.add(archive); // a legacy bare archive
}
#endif

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: fuzz_seeds CORPUS_DIR\n";
        return 2;
    }
    const fs::path root = argv[1];
    idxSeeds(root);
    cifarSeeds(root);
    configSeeds(root);
    maskSeeds(root);
    weightSeeds(root);
#ifdef SRIGL_FUZZ_CHECKPOINT
    checkpointSeeds(root);
#endif
    std::cout << "fuzz seeds written to " << root.string() << "\n";
    return 0;
}
