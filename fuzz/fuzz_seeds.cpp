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
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
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

// Little-endian fields, each {width in bytes, value}: the zip seeds are laid out field by field.
void fields(Bytes& out, std::initializer_list<std::pair<int, uint64_t>> list) {
    for (const auto& [width, value] : list)
        for (int i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

uint32_t crcOf(const std::string& text) {
    return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
}

// One record of a seed zip: its bytes as they lie in the archive, the method, the size it claims
// and the CRC-32 of what it inflates to.
struct ZipSeedRecord {
    std::string name;
    Bytes data;
    uint16_t method;
    uint64_t claim;
    uint32_t crc;
};

ZipSeedRecord storedRecord(const std::string& name, const std::string& text) {
    return {name, Bytes(text.begin(), text.end()), 0, text.size(), crcOf(text)};
}

// A zip as torch.save lays one out (local headers, central directory, end record); with `zip64`,
// sizes and offsets in zip64 extra fields and a zip64 end record with its locator, as torch.save
// writes archives past 4 GiB.
Bytes zipSeed(const std::vector<ZipSeedRecord>& records, bool zip64) {
    Bytes out, directory;
    const uint64_t marker = 0xFFFFFFFF;
    for (const ZipSeedRecord& r : records) {
        const uint64_t offset = out.size(), size = r.data.size();
        const uint64_t crc = r.crc;
        const uint64_t extra = zip64 ? 28 : 0;
        fields(out, {{4, 0x04034b50}, {2, 45}, {2, 0}, {2, r.method}, {4, 0}, {4, crc}, {4, zip64 ? marker : size},
                     {4, zip64 ? marker : r.claim}, {2, r.name.size()}, {2, extra}});
        out.insert(out.end(), r.name.begin(), r.name.end());
        if (zip64) fields(out, {{2, 1}, {2, 24}, {8, r.claim}, {8, size}, {8, offset}});
        out.insert(out.end(), r.data.begin(), r.data.end());
        fields(directory, {{4, 0x02014b50}, {2, 45}, {2, 45}, {2, 0}, {2, r.method}, {4, 0}, {4, crc},
                           {4, zip64 ? marker : size}, {4, zip64 ? marker : r.claim}, {2, r.name.size()}, {2, extra},
                           {2, 0}, {2, 0}, {2, 0}, {4, 0}, {4, zip64 ? marker : offset}});
        directory.insert(directory.end(), r.name.begin(), r.name.end());
        if (zip64) fields(directory, {{2, 1}, {2, 24}, {8, r.claim}, {8, size}, {8, offset}});
    }
    const uint64_t start = out.size(), count = records.size();
    out.insert(out.end(), directory.begin(), directory.end());
    if (zip64) {
        const uint64_t record = out.size();
        fields(out, {{4, 0x06064b50}, {8, 44}, {2, 45}, {2, 45}, {4, 0}, {4, 0}, {8, count}, {8, count},
                     {8, directory.size()}, {8, start}});
        fields(out, {{4, 0x07064b50}, {4, 0}, {8, record}, {4, 1}});
    }
    fields(out, {{4, 0x06054b50}, {2, 0}, {2, 0}, {2, zip64 ? 0xFFFF : count}, {2, zip64 ? 0xFFFF : count},
                 {4, zip64 ? marker : directory.size()}, {4, zip64 ? marker : start}, {2, 0}});
    return out;
}

// Raw deflate of `text` (a zip record's data).
ZipSeedRecord deflatedRecord(const std::string& name, const std::string& text) {
    const Bytes gz = srigl::fuzz::gzipBytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    // A gzip member is a 10-byte header, the raw deflate stream, and 8 bytes of CRC and size.
    return {name, Bytes(gz.begin() + 10, gz.end() - 8), 8, text.size(), crcOf(text)};
}

void zipSeeds(const fs::path& root) {
    SeedDir d(root, "fuzz_zip_directory");
    // A state_dict's records as LibTorch names them (the pickle itself is not what is fuzzed here).
    const std::vector<ZipSeedRecord> torchSave = {storedRecord("archive/data.pkl", "\x80\x02}q\x00."),
                                                   storedRecord("archive/data/0", std::string(24, '\x01')),
                                                   storedRecord("archive/version", "3\n")};
    d.add(zipSeed(torchSave, false));
    d.add(zipSeed(torchSave, true));
    d.add(zipSeed({deflatedRecord("archive/data.pkl", std::string(2000, 'p')), torchSave[2]}, false));
    // A zip bomb's header: a few bytes of deflate claiming 20 GiB (zip64), then 4 GiB less two bytes.
    ZipSeedRecord bomb = deflatedRecord("bomb/data.pkl", std::string(64, '\0'));
    bomb.claim = uint64_t{20} << 30;
    d.add(zipSeed({bomb}, true));
    bomb.claim = 0xFFFFFFFE;
    d.add(zipSeed({bomb}, false));
    d.add(zipSeed({}, false)); // an empty archive
}

// A string literal with its NUL bytes (pickles hold many).
template <size_t N>
std::string raw(const char (&bytes)[N]) {
    return std::string(bytes, N - 1);
}

// Pickle opcodes written by hand, as Python's pickler (protocol 2, what torch.save uses) lays them
// out; the seed writer has no Python.
class Pickle {
public:
    explicit Pickle(int protocol = 2) { out_ += {'\x80', static_cast<char>(protocol)}; }
    Pickle& op(const std::string& ops) { out_ += ops; return *this; }
    Pickle& global(const std::string& module, const std::string& name) { return op("c" + module + "\n" + name + "\n").put(); }
    Pickle& text(const std::string& s) {
        const uint32_t n = static_cast<uint32_t>(s.size());
        out_ += 'X';
        for (int shift = 0; shift < 32; shift += 8) out_ += static_cast<char>(n >> shift);
        out_ += s;
        return put();
    }
    Pickle& integer(int v) { // BININT1 or BININT
        if (v >= 0 && v < 256) return op(std::string{'K', static_cast<char>(v)});
        out_ += 'J';
        for (int shift = 0; shift < 32; shift += 8) out_ += static_cast<char>(static_cast<uint32_t>(v) >> shift);
        return *this;
    }
    Pickle& put() { return op(std::string{'q', static_cast<char>(memo_++)}); } // BINPUT, as the pickler memoises
    Pickle& get(int id) { return op(std::string{'h', static_cast<char>(id)}); }
    int lastMemo() const { return memo_ - 1; }
    // _rebuild_tensor_v2((storage pid), offset, sizes, strides, False, OrderedDict()) as torch.save
    // writes a tensor; the persistent id of `key`'s storage is written in full the first time, then
    // fetched from the memo (persistent objects themselves are never memoised).
    Pickle& tensor(const std::string& key, const std::string& type, int storageNumel, int offset,
                   const std::vector<int>& sizes, const std::vector<int>& strides) {
        global("torch._utils", "_rebuild_tensor_v2").op("(");
        if (const auto it = storages_.find(key); it != storages_.end()) get(it->second).op("Q");
        else {
            op("(").text("storage").global("torch", type).text(key).text("cpu").integer(storageNumel).op("t").put().op("Q");
            storages_[key] = lastMemo();
        }
        integer(offset).op("(");
        for (int v : sizes) integer(v);
        op("t").put().op("(");
        for (int v : strides) integer(v);
        return op("t").put().op("\x89").orderedDict().op(")R").put().op("t").put().op("R").put();
    }
    // collections.OrderedDict() by REDUCE, the global memoised once and fetched after.
    Pickle& orderedDict() {
        if (orderedDict_ < 0) {
            global("collections", "OrderedDict");
            orderedDict_ = lastMemo();
        } else {
            get(orderedDict_);
        }
        return *this;
    }
    std::string done() { return out_ + "."; }

private:
    std::string out_;
    int memo_ = 0;
    int orderedDict_ = -1;
    std::map<std::string, int> storages_;
};

// model.state_dict() of nn.Linear(3, 2) as torch.save writes it: an OrderedDict filled by SETITEMS,
// then BUILD with its _metadata.
Pickle& linearStateDict(Pickle& p, const std::string& prefix) {
    p.orderedDict().op(")R").put().op("(");
    p.text(prefix + "weight").tensor(prefix + "0", "FloatStorage", 6, 0, {2, 3}, {3, 1});
    p.text(prefix + "bias").tensor(prefix + "1", "FloatStorage", 2, 0, {2}, {1});
    p.op("u}").put().text("_metadata").orderedDict().op(")R").put().op("(").text("").op("}").put().text("version").integer(1);
    return p.op("su").op("sb");
}

void unpicklerSeeds(const fs::path& root) {
    SeedDir d(root, "fuzz_unpickler");
    {
        Pickle p;
        d.add(linearStateDict(p, "").done());
    }
    {   // a training checkpoint: plain dict, a nested state_dict, floats, a list, a shared storage view
        Pickle p;
        p.op("}").put().op("(").text("epoch").integer(70000).text("model");
        linearStateDict(p, "fc.").text("lr").op(std::string("G\x3f\xb9\x99\x99\x99\x99\x99\x9a", 9));
        p.text("mask").tensor("fc.0", "FloatStorage", 6, 1, {2, 2}, {3, 1}); // a view into fc.weight's storage
        p.text("steps").op("](").integer(1).integer(-7).op("N\x88\x89").op("e").put();
        p.text("bits").tensor("2", "BoolStorage", 4, 0, {4}, {1});
        d.add(p.op("u").done());
    }
    {   // an expanded tensor (stride 0), a parameter, an empty tensor, an int64 storage
        Pickle p;
        p.op("(").tensor("0", "LongStorage", 1, 0, {3, 4}, {0, 0});
        p.global("torch._utils", "_rebuild_parameter").tensor("1", "HalfStorage", 4, 0, {2, 2}, {2, 1});
        p.op("\x88").orderedDict().op(")R\x87R");
        p.tensor("2", "DoubleStorage", 0, 0, {0, 5}, {5, 1});
        d.add(p.op("l").done());
    }
    // Protocol 4 framing: FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE, LONG1, SHORT_BINBYTES.
    d.add(raw("\x80\x04\x95\x30\0\0\0\0\0\0\0}\x94(\x8c\x01k\x94\x8a\x02\xff\x7f\x8c\x01" "b" "C\x02hi\x8c\x01o"
              "\x8c\x0b" "collections\x8c\x0b" "OrderedDict\x93)Ru."));
    // Hostile: a class that runs code, a view past its storage, a negative offset, a list holding
    // itself, a container changed after another took it in, a missing storage record, one element
    // repeated 2^30 times, a huge length,
    // dicts nested 300 deep through their keys.
    d.add(raw("\x80\x02" "cos\nsystem\n(X\x02\0\0\0idtR."));
    Pickle past, negative, missing;
    d.add(past.tensor("0", "FloatStorage", 4, 1, {2, 2}, {2, 1}).done());
    d.add(negative.tensor("0", "FloatStorage", 4, -1, {2}, {1}).done());
    d.add(missing.tensor("missing", "FloatStorage", 1, 0, {1}, {1}).done());
    Pickle repeated; // 2^30 copies of one element
    d.add(repeated.tensor("0", "FloatStorage", 1, 0, {1 << 15, 1 << 15}, {0, 0}).done());
    d.add(raw("\x80\x02]q\0h\0a."));
    d.add(raw("\x80\x02]q\0h\0\x85" "0h\0K\x01" "a."));
    d.add(raw("\x80\x02X\xff\xff\xff\xff" "ab."));
    std::string keys = raw("\x80\x02}");
    for (int i = 0; i < 300; ++i) keys += raw("q\0" "0}h\0Ns");
    d.add(keys + ".");
}

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
    unpicklerSeeds(root);
    zipSeeds(root);
#ifdef SRIGL_FUZZ_CHECKPOINT
    checkpointSeeds(root);
#endif
    std::cout << "fuzz seeds written to " << root.string() << "\n";
    return 0;
}
