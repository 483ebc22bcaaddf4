// The zip check in front of LibTorch's zip reader (engine/archive/zip_directory.hpp): real archives
// (torch.save's, LibTorch's, zip64, a small deflated record) pass and still load; zip bombs, records
// or directories past the end, impossible counts, encrypted records and unknown methods are refused
// by readPyTorchFile and by a checkpoint's load, with messages naming the file and the record, before
// LibTorch allocates anything. The zips are written byte by byte here.
#include <QtTest>

#include "engine/errors.hpp"
#include "engine/interop/pytorch_file.hpp"
#include "engine/models/torchscript_model.hpp"
#include "engine/training/atomic_archive.hpp"
#include "engine/training/checkpoint_file.hpp"
#include "engine/archive/checked_zip_file.hpp"
#include "engine/archive/zip_directory.hpp"
#include "tests/support/guarded.hpp"

#include <QTemporaryDir>

#include <caffe2/serialize/inline_container.h>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>

using namespace srigl;
using namespace srigl::interop;

namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

// One record of a hand-written zip: `data` as it lies in the archive, `claim` the size the directory
// says it inflates to (the true one when not given), `crc` of what it inflates to.
struct Record {
    Record(std::string name_, std::string data_, uint16_t method_ = 0, std::optional<uint64_t> claim_ = {},
           std::optional<uint32_t> crc_ = {})
        : name(std::move(name_)), data(std::move(data_)), method(method_), claim(claim_), crc(crc_) {}
    std::string name;
    std::string data;
    uint16_t method;
    std::optional<uint64_t> claim;
    std::optional<uint32_t> crc;
    uint16_t flags = 0;
};

uint32_t crcOf(const std::string& bytes) {
    return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// Raw deflate (no zlib header), as zip records hold it.
std::string rawDeflate(const std::string& bytes) {
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int status = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return status == Z_STREAM_END ? out : std::string();
}

Record deflated(const std::string& name, const std::string& content) {
    return Record{name, rawDeflate(content), 8, content.size(), crcOf(content)};
}

template <typename T>
void put(std::string& out, T value) {
    for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xFF));
}

template <typename T>
void patch(std::string& bytes, size_t at, T value) {
    std::string field;
    put(field, value);
    bytes.replace(at, sizeof(T), field);
}

// A zip of `records` in order: local headers and data, the central directory, the end record; with
// `zip64`, every size and offset in zip64 extra fields and a zip64 end record with its locator (as
// torch.save writes archives past 4 GiB).
std::string zipOf(const std::vector<Record>& records, bool zip64 = false) {
    std::string out, directory;
    const uint32_t marker = 0xFFFFFFFF;
    for (const Record& r : records) {
        const uint64_t claim = r.claim.value_or(r.data.size());
        const uint32_t crc = r.crc.value_or(crcOf(r.data));
        const uint64_t offset = out.size();
        std::string localExtra, centralExtra;
        if (zip64) {
            for (uint64_t v : {claim, uint64_t{r.data.size()}}) put<uint64_t>(localExtra, v);
            centralExtra = localExtra;
            put<uint64_t>(centralExtra, offset);
            localExtra = std::string("\x01\x00\x10\x00", 4) + localExtra;
            centralExtra = std::string("\x01\x00\x18\x00", 4) + centralExtra;
        }
        auto common = [&](std::string& h, const std::string& extra) {
            put<uint16_t>(h, 45); // version needed
            put<uint16_t>(h, r.flags);
            put<uint16_t>(h, r.method);
            put<uint32_t>(h, 0); // time, date
            put<uint32_t>(h, crc);
            put<uint32_t>(h, zip64 ? marker : static_cast<uint32_t>(r.data.size()));
            put<uint32_t>(h, zip64 ? marker : static_cast<uint32_t>(claim));
            put<uint16_t>(h, static_cast<uint16_t>(r.name.size()));
            put<uint16_t>(h, static_cast<uint16_t>(extra.size()));
        };
        put<uint32_t>(out, 0x04034b50);
        common(out, localExtra);
        out += r.name + localExtra + r.data;
        put<uint32_t>(directory, 0x02014b50);
        put<uint16_t>(directory, 45); // version made by
        common(directory, centralExtra);
        put<uint16_t>(directory, 0); // comment length
        put<uint64_t>(directory, 0); // disk, internal and external attributes
        put<uint32_t>(directory, zip64 ? marker : static_cast<uint32_t>(offset));
        directory += r.name + centralExtra;
    }
    const uint64_t directoryOffset = out.size();
    out += directory;
    if (zip64) {
        const uint64_t recordOffset = out.size();
        put<uint32_t>(out, 0x06064b50);
        put<uint64_t>(out, 44);
        put<uint32_t>(out, 45 | 45 << 16);
        put<uint64_t>(out, 0); // this disk, the directory's disk
        for (uint64_t v : {uint64_t{records.size()}, uint64_t{records.size()}, uint64_t{directory.size()}, directoryOffset})
            put<uint64_t>(out, v);
        put<uint32_t>(out, 0x07064b50);
        put<uint32_t>(out, 0);
        put<uint64_t>(out, recordOffset);
        put<uint32_t>(out, 1);
    }
    put<uint32_t>(out, 0x06054b50);
    put<uint32_t>(out, 0);
    for (int i = 0; i < 2; ++i) put<uint16_t>(out, zip64 ? 0xFFFF : static_cast<uint16_t>(records.size()));
    put<uint32_t>(out, zip64 ? marker : static_cast<uint32_t>(directory.size()));
    put<uint32_t>(out, zip64 ? marker : static_cast<uint32_t>(directoryOffset));
    put<uint16_t>(out, 0);
    return out;
}

// The end record's fields and the first central directory entry, in a zip without a comment.
size_t endRecord(const std::string& zip) { return zip.size() - 22; }
size_t firstEntry(const std::string& zip) {
    const uint32_t at = static_cast<uint8_t>(zip[endRecord(zip) + 16]) | static_cast<uint8_t>(zip[endRecord(zip) + 17]) << 8;
    return at;
}

std::string readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeAll(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The records of a real archive, read back through the check (which must pass it).
std::vector<Record> recordsOf(const std::string& zip) {
    ZipBytesSource source(zip.data(), zip.size());
    std::vector<Record> records;
    for (const ZipEntry& e : checkZipArchive(source, "real archive"))
        records.push_back(Record{e.name, zip.substr(e.dataOffset, e.compressedSize), e.method, e.uncompressedSize, e.crc32});
    return records;
}

// `records` with the one whose name ends in `suffix` replaced by `make(old record)`.
template <typename Make>
std::vector<Record> replaced(std::vector<Record> records, const std::string& suffix, Make make) {
    for (Record& r : records)
        if (r.name.size() >= suffix.size() && r.name.compare(r.name.size() - suffix.size(), suffix.size(), suffix) == 0) r = make(r);
    return records;
}

// A state_dict written by LibTorch as torch.save would (the project's writer), as bytes.
std::string stateDictBytes(const QTemporaryDir& dir) {
    const std::string path = dir.filePath("real.pt").toStdString();
    writePyTorchStateDict(path, {{"fc.weight", torch::arange(12, torch::kFloat).reshape({3, 4})}, {"fc.bias", torch::ones({3})}});
    return readAll(path);
}

// readPyTorchFile's refusal of `zip` written to a .pt file: the message, "" when it reads.
QString readRefusal(const QTemporaryDir& dir, const std::string& zip, const char* file = "hostile.pt") {
    const std::string path = dir.filePath(file).toStdString();
    writeAll(path, zip);
    try {
        readPyTorchFile(path);
    } catch (const CheckpointError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

// The refusal must start with the file and name the record; `words` say why.
void requireRefusal(const QTemporaryDir& dir, const std::string& zip, const QString& record, const QString& words) {
    const QString error = readRefusal(dir, zip);
    const QString prefix = dir.filePath("hostile.pt") + ": " + (record.isEmpty() ? QString() : record + ": ");
    QVERIFY2(error.startsWith(prefix) && error.contains(words), qPrintable("got: " + error));
}

// A data.pkl claiming to inflate to 20 GiB: a few real deflated bytes (so that LibTorch, were it
// ever handed this, would fail after its allocation instead of filling it).
Record bombOf(const Record& r) { return Record{r.name, rawDeflate("20 GiB"), 8, 20 * kGiB, r.crc}; }

// Two small stored records, the second 100 bytes.
std::string smallZip() { return zipOf({Record{"a/first", "hello"}, Record{"a/second", std::string(100, 'x')}}); }

} // namespace

class TestZipDirectory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void realArchivesPassAndLoad();
    void storedZipIsListed();
    void zip64EntriesAreReadAsLibTorchReadsThem();
    void smallDeflatedRecordPassesAndLoads();
    void deflateBombIsRefused();
    void bombPtIsRefusedByReadPyTorchFile();
    void checkpointWithBombPayloadIsRefused();
    void torchScriptBombIsRefused();
    void libTorchReadsTheFileThatWasChecked();
    void inPlaceRewriteAfterTheCheckIsNotBelieved();
    void compressedRecordsShareOneBudget();
    void claimBeyondDeflateRatioIsRefused();
    void entryPastEndOfFileIsRefused();
    void centralDirectoryPastEndIsRefused();
    void truncatedEndRecordIsRefused();
    void countLargerThanDirectoryIsRefused();
    void overlappingRecordsAreRefused();
    void encryptedRecordIsRefused();
    void unknownMethodIsRefused();
};

void TestZipDirectory::realArchivesPassAndLoad() {
    guarded([] {
        QTemporaryDir dir;
        const std::string path = dir.filePath("real.pt").toStdString();
        const std::string bytes = stateDictBytes(dir);
        ZipFileSource file(path);
        const auto entries = checkZipArchive(file, path);
        QVERIFY(entries.size() >= 3);
        ZipBytesSource memory(bytes.data(), bytes.size());
        const auto same = checkZipArchive(memory, "real");
        QCOMPARE(same.size(), entries.size());
        for (size_t i = 0; i < entries.size(); ++i) {
            const ZipEntry& e = entries[i];
            QCOMPARE(e.method, uint16_t{0}); // LibTorch stores every record
            QCOMPARE(e.compressedSize, e.uncompressedSize);
            QCOMPARE(same[i].name, e.name);
            QCOMPARE(same[i].dataOffset, e.dataOffset);
            QCOMPARE(crcOf(bytes.substr(e.dataOffset, e.compressedSize)), e.crc32); // the data is where we say
            if (e.name.find("/data/") != std::string::npos) QCOMPARE(e.dataOffset % 64, uint64_t{0}); // torch aligns tensors
        }
        const PickleRef dict = readPyTorchFile(path);
        QVERIFY(dict->is(PickleValue::Kind::Dict));
        // A LibTorch archive as checkpoints hold it (serialized to memory) passes too.
        torch::serialize::OutputArchive archive;
        archive.write("w", torch::ones({4, 4}));
        std::string payload;
        archive.save_to([&](const void* data, size_t size) {
            payload.append(static_cast<const char*>(data), size);
            return size;
        });
        ZipBytesSource checkpoint(payload.data(), payload.size());
        QVERIFY(!checkZipArchive(checkpoint, "checkpoint").empty());
    });
}

void TestZipDirectory::storedZipIsListed() {
    guarded([] {
        const std::string zip = smallZip();
        ZipBytesSource source(zip.data(), zip.size());
        const auto listed = readZipDirectory(source, "small.zip");
        QCOMPARE(listed.size(), size_t{2});
        QCOMPARE(listed[1].localHeaderOffset, uint64_t{30 + 7 + 5}); // after a/first's header, name and data
        QCOMPARE(listed[1].dataOffset, uint64_t{0}); // found by the check, not by the listing
        const auto entries = checkZipArchive(source, "small.zip");
        QCOMPARE(entries[0].name, std::string("a/first"));
        QCOMPARE(entries[0].dataOffset, uint64_t{30 + 7});
        QCOMPARE(zip.substr(entries[0].dataOffset, entries[0].compressedSize), std::string("hello"));
        QCOMPARE(entries[1].name, std::string("a/second"));
        QCOMPARE(entries[1].uncompressedSize, uint64_t{100});
        QCOMPARE(zip.substr(entries[1].dataOffset, 100), std::string(100, 'x'));
    });
}

void TestZipDirectory::zip64EntriesAreReadAsLibTorchReadsThem() {
    guarded([] {
        QTemporaryDir dir;
        const std::string real = stateDictBytes(dir);
        const std::vector<Record> records = recordsOf(real);
        const std::string zip = zipOf(records, true);
        ZipBytesSource source(zip.data(), zip.size());
        const auto entries = checkZipArchive(source, "zip64");
        QCOMPARE(entries.size(), records.size());
        for (size_t i = 0; i < entries.size(); ++i) {
            QCOMPARE(entries[i].name, records[i].name);
            QCOMPARE(entries[i].compressedSize, uint64_t{records[i].data.size()});
            QCOMPARE(zip.substr(entries[i].dataOffset, entries[i].compressedSize), records[i].data);
        }
        QVERIFY(entries.back().localHeaderOffset > 0); // taken from the zip64 extra field
        // LibTorch reads the same archive: the same tensors come back.
        const std::string path = dir.filePath("zip64.pt").toStdString();
        writeAll(path, zip);
        const PickleRef dict = readPyTorchFile(path);
        QCOMPARE(dict->entries.size(), size_t{2});
        // A zip64 locator pointing past the end is refused by name.
        std::string lost = zip;
        patch<uint64_t>(lost, endRecord(lost) - 20 + 8, uint64_t{1} << 40);
        requireRefusal(dir, lost, "", "the zip64 end of central directory record (bytes 1099511627776");
    });
}

void TestZipDirectory::smallDeflatedRecordPassesAndLoads() {
    guarded([] {
        QTemporaryDir dir;
        const std::string real = stateDictBytes(dir);
        std::vector<Record> records = replaced(recordsOf(real), "data.pkl", [](const Record& r) { return deflated(r.name, r.data); });
        // A megabyte of zeros: deflate's real ratio (about 1030:1) is within the bound.
        records.push_back(deflated("archive/extra/zeros", std::string(size_t{1} << 20, '\0')));
        const std::string zip = zipOf(records);
        ZipBytesSource source(zip.data(), zip.size());
        const auto entries = checkZipArchive(source, "deflated");
        QCOMPARE(entries.back().method, uint16_t{8});
        QVERIFY(entries.back().compressedSize * kMaxDeflateRatio >= entries.back().uncompressedSize);
        QVERIFY(entries.back().compressedSize * 1000 < entries.back().uncompressedSize);
        // LibTorch inflates data.pkl and reads the tensors.
        QVERIFY2(readRefusal(dir, zip, "deflated.pt").isEmpty(), qPrintable(readRefusal(dir, zip, "deflated.pt")));
    });
}

void TestZipDirectory::deflateBombIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        // A bomb's header as it comes: 20 MiB of compressed bytes claiming 20 GiB (within deflate's ratio).
        const std::string zip = zipOf({Record{"bomb/data.pkl", std::string(size_t{20} << 20, '\0'), 8, 20 * kGiB, 0}}, true);
        QCOMPARE(readRefusal(dir, zip), dir.filePath("hostile.pt") + ": bomb/data.pkl: a compressed record that claims to "
                                                                     "inflate to 20.0 GiB (real torch.save files store records "
                                                                     "uncompressed); refusing it");
    });
}

void TestZipDirectory::bombPtIsRefusedByReadPyTorchFile() {
    guarded([] {
        QTemporaryDir dir;
        const std::vector<Record> records = replaced(recordsOf(stateDictBytes(dir)), "data.pkl", bombOf);
        std::string pickle;
        for (const Record& r : records)
            if (r.method == 8) pickle = r.name;
        requireRefusal(dir, zipOf(records, true), QString::fromStdString(pickle), "a compressed record that claims to inflate to 20.0 GiB");
    });
}

void TestZipDirectory::checkpointWithBombPayloadIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        torch::serialize::OutputArchive archive;
        archive.write("scalars", torch::zeros({7}, torch::kDouble));
        std::string payload;
        archive.save_to([&](const void* data, size_t size) {
            payload.append(static_cast<const char*>(data), size);
            return size;
        });
        const std::string bomb = zipOf(replaced(recordsOf(payload), "data.pkl", bombOf), true);
        // The container's header and checksums are right: only the archive inside is hostile.
        const std::string path = dir.filePath("bomb.ckpt").toStdString();
        writeAll(path, encodeCheckpoint(CheckpointHeader{"", 3}, bomb));
        QCOMPARE(readCheckpointFile(path).payload, bomb);
        torch::serialize::InputArchive in;
        try {
            loadArchive(in, path);
            QFAIL("a checkpoint holding a zip bomb was loaded");
        } catch (const CheckpointError& e) {
            const QString what = e.what();
            QVERIFY2(what.startsWith(QString::fromStdString("checkpoint '" + path + "': ")) && what.contains("data.pkl: ") &&
                         what.contains("claims to inflate to 20.0 GiB"),
                     e.what());
        }
    });
}

void TestZipDirectory::torchScriptBombIsRefused() {
    guarded([] {
        // `model_path` is an outside file that LibTorch's torch::jit::load opens with the same reader.
        QTemporaryDir dir;
        torch::serialize::OutputArchive archive;
        archive.write("w", torch::zeros({4}));
        std::string payload;
        archive.save_to([&](const void* data, size_t size) {
            payload.append(static_cast<const char*>(data), size);
            return size;
        });
        const std::string path = dir.filePath("module.pt").toStdString();
        writeAll(path, zipOf(replaced(recordsOf(payload), "data.pkl", bombOf), true));
        try {
            TorchScriptModelImpl model(path, "", InputShape{});
            QFAIL("a TorchScript file holding a zip bomb was loaded");
        } catch (const ConfigError& e) {
            const QString what = e.what();
            QVERIFY2(what.contains(QString::fromStdString(path + " is not a TorchScript module")) &&
                         what.contains("data.pkl: ") && what.contains("claims to inflate to 20.0 GiB"),
                     e.what());
        }
    });
}

void TestZipDirectory::libTorchReadsTheFileThatWasChecked() {
    guarded([] {
        // A bomb renamed over the path after the check (LibTorch used to open the path again) is not
        // what LibTorch reads: it reads through the descriptor that was checked.
        QTemporaryDir dir;
        const std::string path = dir.filePath("model.pt").toStdString(), swap = dir.filePath("swap.pt").toStdString();
        const std::string real = stateDictBytes(dir);
        writeAll(path, real);
        writeAll(swap, zipOf(replaced(recordsOf(real), "data.pkl", bombOf), true));
        const auto checked = openCheckedZip(path);
        QVERIFY(std::rename(swap.c_str(), path.c_str()) == 0);
        QCOMPARE(checked->size(), real.size());
        caffe2::serialize::PyTorchStreamReader reader(checked);
        // The pickle as the checked file holds it (torch.save stores records uncompressed).
        std::optional<Record> pickle;
        for (const Record& r : recordsOf(real))
            if (r.name.size() > 8 && r.name.compare(r.name.size() - 8, 8, "data.pkl") == 0) pickle = r;
        QVERIFY(pickle && pickle->method == 0);
        auto [data, size] = reader.getRecord("data.pkl");
        QCOMPARE(std::string(static_cast<const char*>(data.get()), size), pickle->data);
        // A bomb already there when the check runs is refused before LibTorch sees it.
        QVERIFY_THROWS_EXCEPTION(CheckpointError, openCheckedZip(path));
    });
}

void TestZipDirectory::inPlaceRewriteAfterTheCheckIsNotBelieved() {
    guarded([] {
        // The same inode rewritten after the check (`cat bomb.pt > model.pt`): the descriptor reads the
        // new bytes, so LibTorch used to find a directory claiming 20 GiB that was never checked.
        QTemporaryDir dir;
        const std::string path = dir.filePath("model.pt").toStdString();
        const std::string real = stateDictBytes(dir);
        std::string bomb = zipOf(replaced(recordsOf(real), "data.pkl", bombOf), true);
        const std::string shorter = bomb;
        if (bomb.size() < real.size()) bomb.insert(0, real.size() - bomb.size(), '\0'); // offsets past the old end
        writeAll(path, real);
        const auto checked = openCheckedZip(path);
        writeAll(path, bomb); // truncated and rewritten: same inode
        // Every byte the check read comes back as it was: the end record, and so the whole directory.
        const size_t end = endRecord(real);
        std::string tail(22, '\0');
        QCOMPARE(checked->read(end, tail.data(), tail.size()), size_t(22));
        QCOMPARE(tail, real.substr(end));
        caffe2::serialize::PyTorchStreamReader reader(checked);
        std::vector<std::string> names;
        for (const Record& r : recordsOf(real)) names.push_back(r.name.substr(r.name.find('/') + 1));
        std::vector<std::string> listed = reader.getAllRecords();
        std::sort(names.begin(), names.end());
        std::sort(listed.begin(), listed.end());
        QCOMPARE(listed, names); // the checked directory, not the bomb's
        // The pickle's bytes now come from the rewritten file, but its size from the checked
        // directory: at worst a CRC error, never the bomb's 20 GiB allocation.
        try {
            auto [data, size] = reader.getRecord("data.pkl");
            QVERIFY(size < 1u << 20);
        } catch (const c10::Error&) {
        }
        // Rewritten shorter than it was checked: a clear error when LibTorch reads past the new end.
        writeAll(path, real);
        const auto again = openCheckedZip(path);
        writeAll(path, shorter);
        try {
            caffe2::serialize::PyTorchStreamReader shortReader(again);
            shortReader.getRecord("data.pkl");
            QFAIL("a file shorter than it was checked was read");
        } catch (const std::exception& e) {
            QVERIFY2(std::string(e.what()).find("became shorter") != std::string::npos, e.what());
        }
    });
}

void TestZipDirectory::compressedRecordsShareOneBudget() {
    guarded([] {
        QTemporaryDir dir;
        // Three records of 30 MiB each, every one within the limit and deflate's ratio: 90 MiB together.
        std::vector<Record> records;
        for (const char* name : {"a/data/0", "a/data/1", "a/data/2"})
            records.push_back(Record{name, std::string(31 << 10, '\x01'), 8, uint64_t{30} << 20, 0});
        requireRefusal(dir, zipOf(records), "a/data/2", "with the compressed records before it, claims to inflate to 90.0 MiB");
    });
}

void TestZipDirectory::claimBeyondDeflateRatioIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        const std::string zip = zipOf({Record{"a/data.pkl", std::string(100, '\x01'), 8, uint64_t{1} << 20, 0}});
        requireRefusal(dir, zip, "a/data.pkl", "claims to inflate to 1.0 MiB from 100 bytes, more than deflate can");
    });
}

void TestZipDirectory::entryPastEndOfFileIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        std::string header = smallZip();
        patch<uint32_t>(header, firstEntry(header) + 46 + 42 + 7, 1u << 30); // a/second's local header offset
        requireRefusal(dir, header, "a/second", "its local header (bytes 1073741824 to 1073741854) lies past the end");
        std::string data = smallZip();
        for (size_t field : {20, 24}) patch<uint32_t>(data, firstEntry(data) + 46 + 7 + field, 1u << 20); // a/second's sizes
        requireRefusal(dir, data, "a/second", "its data (bytes 80 to 1048656) lies past the end of the archive");
    });
}

void TestZipDirectory::centralDirectoryPastEndIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        std::string zip = smallZip();
        patch<uint32_t>(zip, endRecord(zip) + 16, static_cast<uint32_t>(zip.size()));
        requireRefusal(dir, zip, "", "its central directory (bytes " + QString::number(zip.size()) + " to");
    });
}

void TestZipDirectory::truncatedEndRecordIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        const std::string zip = smallZip();
        requireRefusal(dir, zip.substr(0, zip.size() - 5), "", "(no end of central directory record)");
    });
}

void TestZipDirectory::countLargerThanDirectoryIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        std::string zip = smallZip();
        for (size_t field : {8, 10}) patch<uint16_t>(zip, endRecord(zip) + field, 1000);
        requireRefusal(dir, zip, "", "claims 1000 records, more than its central directory of");
        // The zip64 count is 64 bits: two billion records claimed by a directory of two.
        std::string zip64 = zipOf({Record{"a/first", "hello"}, Record{"a/second", "x"}}, true);
        const size_t record = endRecord(zip64) - 20 - 56;
        for (size_t field : {24, 32}) patch<uint64_t>(zip64, record + field, uint64_t{2} << 30);
        requireRefusal(dir, zip64, "", "claims 2147483648 records, more than its central directory of");
    });
}

void TestZipDirectory::overlappingRecordsAreRefused() {
    guarded([] {
        QTemporaryDir dir;
        // a/copy's entry points at a/big's data: each record fits, together they claim more than the file.
        const std::string big(600, 'b');
        std::string zip = zipOf({Record{"a/big", big}, Record{"a/copy", "c"}});
        const size_t copy = firstEntry(zip) + 46 + 5;
        patch<uint32_t>(zip, copy + 16, crcOf(big));
        for (size_t field : {20, 24}) patch<uint32_t>(zip, copy + field, 600);
        patch<uint32_t>(zip, copy + 42, 0);
        requireRefusal(dir, zip, "a/copy", "the records up to this one claim 1200 bytes, more than the whole archive");
    });
}

void TestZipDirectory::encryptedRecordIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        Record secret{"a/data.pkl", "secret"};
        secret.flags = 1;
        requireRefusal(dir, zipOf({secret}), "a/data.pkl", "an encrypted record");
    });
}

void TestZipDirectory::unknownMethodIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        requireRefusal(dir, zipOf({Record{"a/data.pkl", "BZh9", 12}}), "a/data.pkl", "compressed with method 12");
    });
}

QTEST_GUILESS_MAIN(TestZipDirectory)
#include "test_zip_directory.moc"
