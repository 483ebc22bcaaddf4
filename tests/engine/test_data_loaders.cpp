// Tests of the data module: IDX and CIFAR readers on hand-written fixtures, the synthetic digits and
// the batch sampler's determinism, coverage, normalisation and augmentation.
#include <torch/torch.h> // before Qt, whose macros collide with Torch's headers

#include <QtTest>

#include "engine/data/batch_sampler.hpp"
#include "engine/data/cifar_format.hpp"
#include "engine/data/cifar_reader.hpp"
#include "engine/data/dataset.hpp"
#include "engine/data/idx_format.hpp"
#include "engine/data/idx_reader.hpp"
#include "engine/data/synthetic_digits.hpp"
#include "engine/errors.hpp"

#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

using namespace srigl;

namespace {

using Bytes = std::vector<uint8_t>;

void appendBigEndian(Bytes& out, uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(uint8_t(v >> shift));
}

Bytes idxImages(const std::vector<Bytes>& images, uint32_t rows, uint32_t cols, uint32_t magic = 0x803)
{
    Bytes out;
    appendBigEndian(out, magic);
    appendBigEndian(out, uint32_t(images.size()));
    appendBigEndian(out, rows);
    appendBigEndian(out, cols);
    for (const auto& img : images)
        out.insert(out.end(), img.begin(), img.end());
    return out;
}

Bytes idxLabels(const Bytes& labels, uint32_t magic = 0x801)
{
    Bytes out;
    appendBigEndian(out, magic);
    appendBigEndian(out, uint32_t(labels.size()));
    out.insert(out.end(), labels.begin(), labels.end());
    return out;
}

void writeFile(const std::string& path, const Bytes& bytes)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    QVERIFY2(f.good(), path.c_str());
}

void writeGzip(const std::string& path, const Bytes& bytes)
{
    gzFile f = gzopen(path.c_str(), "wb");
    QVERIFY2(f != nullptr, path.c_str());
    QCOMPARE(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
    QCOMPARE(gzclose(f), Z_OK);
}

// Image i of a fixture: pixel j is (17 * i + 3 * j + salt) mod 256, so every pixel is checkable.
Bytes patternImage(int i, int pixels, int salt)
{
    Bytes img(size_t(pixels), 0);
    for (int j = 0; j < pixels; ++j)
        img[size_t(j)] = uint8_t((17 * i + 3 * j + salt) % 256);
    return img;
}

struct IdxFixture {
    std::vector<Bytes> trainImages, testImages;
    Bytes trainLabels, testLabels;
};

constexpr uint32_t kRows = 4, kCols = 3;

IdxFixture makeIdxFixture()
{
    IdxFixture f;
    for (int i = 0; i < 6; ++i) {
        f.trainImages.push_back(patternImage(i, kRows * kCols, 0));
        f.trainLabels.push_back(uint8_t((i * 7) % 10));
    }
    for (int i = 0; i < 3; ++i) {
        f.testImages.push_back(patternImage(i, kRows * kCols, 100));
        f.testLabels.push_back(uint8_t(9 - i));
    }
    return f;
}

// Writes the four IDX files of `f` into dir, raw or gzip-compressed with a .gz suffix.
void writeIdxFixture(const QString& dir, const IdxFixture& f, bool gz)
{
    const std::string d = dir.toStdString() + "/";
    const std::string sfx = gz ? ".gz" : "";
    const auto write = gz ? writeGzip : writeFile;
    write(d + "train-images-idx3-ubyte" + sfx, idxImages(f.trainImages, kRows, kCols));
    write(d + "train-labels-idx1-ubyte" + sfx, idxLabels(f.trainLabels));
    write(d + "t10k-images-idx3-ubyte" + sfx, idxImages(f.testImages, kRows, kCols));
    write(d + "t10k-labels-idx1-ubyte" + sfx, idxLabels(f.testLabels));
}

void checkSplitMatches(const DatasetSplit& split, const std::vector<Bytes>& images, const Bytes& labels)
{
    QCOMPARE(split.images.scalar_type(), torch::kUInt8);
    QCOMPARE(split.labels.scalar_type(), torch::kLong);
    QCOMPARE(split.images.sizes().vec(), (std::vector<int64_t>{int64_t(images.size()), 1, kRows, kCols}));
    QCOMPARE(split.size(), int64_t(labels.size()));
    const uint8_t* px = split.images.data_ptr<uint8_t>();
    for (size_t i = 0; i < images.size(); ++i) {
        for (size_t j = 0; j < images[i].size(); ++j)
            QCOMPARE(px[i * kRows * kCols + j], images[i][j]);
        QCOMPARE(split.labels[int64_t(i)].item<int64_t>(), int64_t(labels[i]));
    }
}

// Runs f and returns the message of the E it throws; fails the test when it throws nothing.
template <typename E>
QString messageOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const E& e) {
        return QString::fromStdString(e.what());
    }
    return QStringLiteral("<nothing thrown>");
}

#define VERIFY_CONTAINS(message, part)                                                                       \
    QVERIFY2((message).contains(part), qPrintable(QStringLiteral("'%1' lacks '%2'").arg(message, part)))

// CIFAR record i of a file with label `label`: channel c, row y, column x holds (c * 50 + y + 2 * x + i).
Bytes cifarRecord(int i, uint8_t label)
{
    Bytes r{label};
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x)
                r.push_back(uint8_t(c * 50 + y + 2 * x + i));
    return r;
}

Bytes cifarFile(int records, int salt)
{
    Bytes out;
    for (int i = 0; i < records; ++i) {
        const Bytes r = cifarRecord(salt + i, uint8_t((salt + i) % 10));
        out.insert(out.end(), r.begin(), r.end());
    }
    return out;
}

// A small in-memory dataset for the sampler: pixels random, labels = sample index (to track order).
Dataset indexedDataset(int64_t n, int64_t channels, int64_t side, bool augment)
{
    torch::manual_seed(7);
    Dataset d;
    d.name = "indexed";
    d.train.images = torch::randint(0, 256, {n, channels, side, side}, torch::kLong).to(torch::kUInt8);
    d.train.labels = torch::arange(n, torch::kLong);
    d.test.images = torch::randint(0, 256, {n / 2 + 1, channels, side, side}, torch::kLong).to(torch::kUInt8);
    d.test.labels = torch::arange(n / 2 + 1, torch::kLong);
    d.channels = channels;
    d.height = d.width = side;
    for (int64_t c = 0; c < channels; ++c) {
        d.mean.push_back(0.2f + 0.1f * float(c));
        d.std.push_back(0.3f + 0.05f * float(c));
    }
    d.augment = augment;
    return d;
}

std::vector<int64_t> epochTargets(const BatchSampler& s, int64_t epoch)
{
    std::vector<int64_t> all;
    for (int64_t b = 0; b < s.batchesPerEpoch(); ++b) {
        const Batch batch = s.trainBatch(epoch, b, torch::kCPU);
        const auto t = batch.targets.contiguous();
        all.insert(all.end(), t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
    }
    return all;
}

// A file of `size` bytes that starts with `head` and is a hole after it: ftruncate allocates no disk.
void writeSparse(const std::string& path, const Bytes& head, qint64 size)
{
    writeFile(path, head);
    QFile f(QString::fromStdString(path));
    QVERIFY(f.resize(size));
}

// A gzip file that starts with `head` and then inflates to `zeroMiB` MiB of zeros, yet is about a
// thousand times smaller: one 16 MiB member of zeros compressed once and repeated (gzip members
// concatenate, as `cat a.gz b.gz` makes them).
void writeGzipBomb(const std::string& path, const Bytes& head, int zeroMiB)
{
    const Bytes zeros(16u << 20, 0);
    uLongf bound = compressBound(uLong(zeros.size())) + 64;
    Bytes member(bound);
    z_stream z{};
    QCOMPARE(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = const_cast<uint8_t*>(zeros.data());
    z.avail_in = uInt(zeros.size());
    z.next_out = member.data();
    z.avail_out = uInt(member.size());
    QCOMPARE(deflate(&z, Z_FINISH), Z_STREAM_END);
    member.resize(z.total_out);
    deflateEnd(&z);

    writeGzip(path, head);
    std::ofstream out(path, std::ios::binary | std::ios::app);
    for (int i = 0; i < zeroMiB / 16; ++i)
        out.write(reinterpret_cast<const char*>(member.data()), std::streamsize(member.size()));
    QVERIFY(out.good());
}

// Peak resident memory of this process so far, in MiB.
long peakRssMiB()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024;
}

// Reads `path` with `read`, expecting a DataError that names the file and says `says`, and checks
// that the peak memory grew by less than `maxMiB` meanwhile.
void expectRefusedWithin(const std::string& path, const std::function<void()>& read, const QString& says, long maxMiB)
{
    const long before = peakRssMiB();
    const QString msg = messageOf<DataError>(read);
    const long grew = peakRssMiB() - before;
    VERIFY_CONTAINS(msg, QString::fromStdString(path));
    VERIFY_CONTAINS(msg, says);
    QVERIFY2(grew < maxMiB, qPrintable(QStringLiteral("reading %1 grew the peak memory by %2 MiB").arg(QString::fromStdString(path)).arg(grew)));
}

Bytes bigEndianHeader(std::initializer_list<uint32_t> words)
{
    Bytes out;
    for (uint32_t w : words)
        appendBigEndian(out, w);
    return out;
}

} // namespace

class TestDataLoaders : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void readsRawIdxFiles();
    void readsGzippedIdxFiles();
    void rejectsTruncatedIdxFile();
    void rejectsTrailingIdxBytes();
    void rejectsWrongIdxMagic();
    void rejectsIdxLabelOutOfRange();
    void rejectsIdxCountMismatch();
    void reportsMissingIdxFile();
    void reportsMissingDataDirectory();
    void rejectsCorruptGzip();
    void readsCifarBatches();
    void readsCifarFromDataDirItself();
    void rejectsCifarBadSize();
    void rejectsCifarBadLabel();
    void reportsMissingCifarBatch();
    void rejectsUnknownDataset();
    void requiresDataDirForFileDatasets();
    void listsDatasetNames();
    void generatesSyntheticDeterministically();
    void syntheticDoesNotDependOnThreads();
    void variesSyntheticAcrossSeedsAndSplits();
    void coversAllSyntheticClasses();
    void keepsSyntheticNonTrivial();
    void loadsSyntheticWithTrainStatistics();
    void repeatsEpochOrderForSameSeed();
    void changesOrderAcrossEpochsAndSeeds();
    void coversEpochWithoutRepeats();
    void normalisesPixels();
    void servesTestBatchesInOrder();
    void augmentsDeterministicallyKeepingShape();
    void rejectsBadBatchSize();
    void parsesIdxAndCifarFromMemory();
    void rejectsSparseHugeIdxFile();
    void rejectsSparseHugeCifarFile();
    void rejectsIdxGzipBombEarly();
    void rejectsIdxGzipDeclaringTooMuch();
    void rejectsCifarGzipBomb();
};

void TestDataLoaders::readsRawIdxFiles()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const IdxFixture f = makeIdxFixture();
    writeIdxFixture(dir.path(), f, false);

    const Dataset d = loadDataset("mnist", dir.path().toStdString(), 0);
    checkSplitMatches(d.train, f.trainImages, f.trainLabels);
    checkSplitMatches(d.test, f.testImages, f.testLabels);
    QCOMPARE(d.channels, int64_t(1));
    QCOMPARE(d.height, int64_t(kRows));
    QCOMPARE(d.width, int64_t(kCols));
    QCOMPARE(d.numClasses, int64_t(10));
    QCOMPARE(d.mean, std::vector<float>{0.1307f});
    QCOMPARE(d.std, std::vector<float>{0.3081f});
    QVERIFY(!d.augment);
}

void TestDataLoaders::readsGzippedIdxFiles()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const IdxFixture f = makeIdxFixture();
    writeIdxFixture(dir.path(), f, true);

    const Dataset d = loadDataset("fashion_mnist", dir.path().toStdString(), 0);
    checkSplitMatches(d.train, f.trainImages, f.trainLabels);
    checkSplitMatches(d.test, f.testImages, f.testLabels);
    QCOMPARE(d.name, std::string("fashion_mnist"));
    QCOMPARE(d.mean, std::vector<float>{0.2860f});
    QCOMPARE(d.std, std::vector<float>{0.3530f});
}

void TestDataLoaders::rejectsTruncatedIdxFile()
{
    QTemporaryDir dir;
    const IdxFixture f = makeIdxFixture();
    writeIdxFixture(dir.path(), f, false);
    Bytes images = idxImages(f.trainImages, kRows, kCols);
    const size_t full = images.size();
    images.resize(full - 5);
    const std::string path = dir.path().toStdString() + "/train-images-idx3-ubyte";
    writeFile(path, images);

    const QString msg = messageOf<DataError>([&] { loadDataset("mnist", dir.path().toStdString(), 0); });
    VERIFY_CONTAINS(msg, QString::fromStdString(path));
    VERIFY_CONTAINS(msg, QStringLiteral("truncated: expected %1 bytes, found %2").arg(full).arg(full - 5));

    writeFile(path, Bytes{0, 0, 8});
    const QString header = messageOf<DataError>([&] { readIdxImages(path); });
    VERIFY_CONTAINS(header, QStringLiteral("truncated"));
}

void TestDataLoaders::rejectsTrailingIdxBytes()
{
    QTemporaryDir dir;
    Bytes labels = idxLabels(Bytes{1, 2, 3});
    labels.push_back(4);
    const std::string path = dir.path().toStdString() + "/labels";
    writeFile(path, labels);
    const QString msg = messageOf<DataError>([&] { readIdxLabels(path); });
    VERIFY_CONTAINS(msg, QString::fromStdString(path));
    VERIFY_CONTAINS(msg, QStringLiteral("expected 11 bytes, found 12"));
}

void TestDataLoaders::rejectsWrongIdxMagic()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/imgs";
    writeFile(path, idxImages({patternImage(0, 4, 0)}, 2, 2, 0x0802));
    const QString msg = messageOf<DataError>([&] { readIdxImages(path); });
    VERIFY_CONTAINS(msg, QString::fromStdString(path));
    VERIFY_CONTAINS(msg, QStringLiteral("0x00000802"));
    VERIFY_CONTAINS(msg, QStringLiteral("0x00000803"));

    // A label file where images belong: the message hints at the swap.
    writeFile(path, idxLabels(Bytes{1, 2}));
    VERIFY_CONTAINS(messageOf<DataError>([&] { readIdxImages(path); }), QStringLiteral("swapped"));
}

void TestDataLoaders::rejectsIdxLabelOutOfRange()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/labels";
    writeFile(path, idxLabels(Bytes{3, 9, 10, 0}));
    const QString msg = messageOf<DataError>([&] { readIdxLabels(path); });
    VERIFY_CONTAINS(msg, QString::fromStdString(path));
    VERIFY_CONTAINS(msg, QStringLiteral("label 10 at index 2"));
}

void TestDataLoaders::rejectsIdxCountMismatch()
{
    QTemporaryDir dir;
    IdxFixture f = makeIdxFixture();
    f.testLabels.push_back(4);
    writeIdxFixture(dir.path(), f, false);
    const QString msg = messageOf<DataError>([&] { loadDataset("mnist", dir.path().toStdString(), 0); });
    VERIFY_CONTAINS(msg, QStringLiteral("t10k-images-idx3-ubyte has 3 images"));
    VERIFY_CONTAINS(msg, QStringLiteral("t10k-labels-idx1-ubyte has 4 labels"));
}

void TestDataLoaders::reportsMissingIdxFile()
{
    QTemporaryDir dir;
    writeIdxFixture(dir.path(), makeIdxFixture(), false);
    QVERIFY(QFile::remove(dir.filePath(QStringLiteral("t10k-labels-idx1-ubyte"))));
    const QString msg = messageOf<DataError>([&] { loadDataset("mnist", dir.path().toStdString(), 0); });
    VERIFY_CONTAINS(msg, dir.filePath(QStringLiteral("t10k-labels-idx1-ubyte")));
    VERIFY_CONTAINS(msg, dir.filePath(QStringLiteral("t10k-labels-idx1-ubyte.gz")));
}

void TestDataLoaders::reportsMissingDataDirectory()
{
    QTemporaryDir dir;
    const std::string missing = dir.path().toStdString() + "/nowhere";
    const QString idx = messageOf<DataError>([&] { loadDataset("mnist", missing, 0); });
    VERIFY_CONTAINS(idx, QString::fromStdString(missing));
    VERIFY_CONTAINS(idx, QStringLiteral("does not exist"));
    VERIFY_CONTAINS(idx, QStringLiteral("train-images-idx3-ubyte"));
    const QString cifar = messageOf<DataError>([&] { loadDataset("cifar10", missing, 0); });
    VERIFY_CONTAINS(cifar, QString::fromStdString(missing));
    VERIFY_CONTAINS(cifar, QStringLiteral("data_batch_1.bin"));
    // A file given as the folder (one of the data files, by mistake) is named as such, not as missing.
    const std::string file = dir.path().toStdString() + "/train-images-idx3-ubyte";
    QFile touch(QString::fromStdString(file));
    QVERIFY(touch.open(QIODevice::WriteOnly));
    touch.close();
    for (const char* dataset : {"mnist", "cifar10"}) {
        const QString msg = messageOf<DataError>([&] { loadDataset(dataset, file, 0); });
        VERIFY_CONTAINS(msg, QStringLiteral("is a file, not a data directory"));
    }
}

void TestDataLoaders::rejectsCorruptGzip()
{
    QTemporaryDir dir;
    const std::string whole = dir.path().toStdString() + "/whole.gz";
    Bytes big = idxImages({patternImage(1, 4096, 0), patternImage(2, 4096, 5)}, 64, 64);
    writeGzip(whole, big);
    std::ifstream in(whole, std::ios::binary);
    Bytes gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    QVERIFY(gz.size() > 40);
    gz.resize(gz.size() / 2);
    const std::string cut = dir.path().toStdString() + "/cut.gz";
    writeFile(cut, gz);
    const QString msg = messageOf<DataError>([&] { readIdxImages(cut); });
    VERIFY_CONTAINS(msg, QString::fromStdString(cut));
}

void TestDataLoaders::readsCifarBatches()
{
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("cifar-10-batches-bin")));
    const std::string sub = dir.path().toStdString() + "/cifar-10-batches-bin/";
    // Batch b holds b records (any whole number is accepted), numbered on from the previous batch.
    int next = 0;
    for (int b = 1; b <= 5; ++b) {
        writeFile(sub + "data_batch_" + std::to_string(b) + ".bin", cifarFile(b, next));
        next += b;
    }
    writeFile(sub + "test_batch.bin", cifarFile(2, 200));

    const Dataset d = loadDataset("CIFAR-10", dir.path().toStdString(), 0);
    QCOMPARE(d.name, std::string("cifar10"));
    QCOMPARE(d.train.images.sizes().vec(), (std::vector<int64_t>{15, 3, 32, 32}));
    QCOMPARE(d.test.images.sizes().vec(), (std::vector<int64_t>{2, 3, 32, 32}));
    QCOMPARE(d.channels, int64_t(3));
    QCOMPARE(d.height, int64_t(32));
    QCOMPARE(d.width, int64_t(32));
    QVERIFY(d.augment);
    QCOMPARE(d.mean, (std::vector<float>{0.4914f, 0.4822f, 0.4465f}));
    QCOMPARE(d.std, (std::vector<float>{0.2470f, 0.2435f, 0.2616f}));
    for (int i = 0; i < 15; ++i) {
        QCOMPARE(d.train.labels[i].item<int64_t>(), int64_t(i % 10));
        // R, G and B planes land in channels 0, 1, 2 with rows and columns in place.
        for (int c = 0; c < 3; ++c) {
            QCOMPARE(d.train.images[i][c][0][0].item<uint8_t>(), uint8_t(c * 50 + i));
            QCOMPARE(d.train.images[i][c][5][7].item<uint8_t>(), uint8_t(c * 50 + 5 + 14 + i));
            QCOMPARE(d.train.images[i][c][31][31].item<uint8_t>(), uint8_t(c * 50 + 31 + 62 + i));
        }
    }
    QCOMPARE(d.test.labels[1].item<int64_t>(), int64_t(201 % 10));
    QCOMPARE(d.test.images[1][2][3][4].item<uint8_t>(), uint8_t(100 + 3 + 8 + 201));
}

void TestDataLoaders::readsCifarFromDataDirItself()
{
    QTemporaryDir dir;
    const std::string d = dir.path().toStdString() + "/";
    for (int b = 1; b <= 5; ++b)
        writeFile(d + "data_batch_" + std::to_string(b) + ".bin", cifarFile(1, b));
    writeFile(d + "test_batch.bin", cifarFile(3, 0));
    const DatasetSplit train = readCifarTrain(dir.path().toStdString());
    const DatasetSplit test = readCifarTest(dir.path().toStdString());
    QCOMPARE(train.size(), int64_t(5));
    QCOMPARE(test.size(), int64_t(3));
    QCOMPARE(train.labels[4].item<int64_t>(), int64_t(5));
}

void TestDataLoaders::rejectsCifarBadSize()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/test_batch.bin";
    Bytes bytes = cifarFile(2, 0);
    bytes.resize(bytes.size() - 1);
    writeFile(path, bytes);
    const QString msg = messageOf<DataError>([&] { readCifarBatch(path); });
    VERIFY_CONTAINS(msg, QString::fromStdString(path));
    VERIFY_CONTAINS(msg, QStringLiteral("6145"));
    VERIFY_CONTAINS(msg, QStringLiteral("3073"));

    writeFile(path, Bytes{});
    VERIFY_CONTAINS(messageOf<DataError>([&] { readCifarBatch(path); }), QString::fromStdString(path));
}

void TestDataLoaders::rejectsCifarBadLabel()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/data_batch_1.bin";
    Bytes bytes = cifarFile(3, 0);
    bytes[2 * 3073] = 10;
    writeFile(path, bytes);
    const QString msg = messageOf<DataError>([&] { readCifarBatch(path); });
    VERIFY_CONTAINS(msg, QString::fromStdString(path));
    VERIFY_CONTAINS(msg, QStringLiteral("label 10 in record 2"));
}

void TestDataLoaders::reportsMissingCifarBatch()
{
    QTemporaryDir dir;
    const std::string d = dir.path().toStdString() + "/";
    for (int b : {1, 2, 4, 5})
        writeFile(d + "data_batch_" + std::to_string(b) + ".bin", cifarFile(1, b));
    writeFile(d + "test_batch.bin", cifarFile(1, 0));
    const QString msg = messageOf<DataError>([&] { loadDataset("cifar10", dir.path().toStdString(), 0); });
    VERIFY_CONTAINS(msg, QStringLiteral("data_batch_3.bin"));
    VERIFY_CONTAINS(msg, QString::fromStdString(d + "cifar-10-batches-bin/data_batch_3.bin"));
}

void TestDataLoaders::rejectsUnknownDataset()
{
    try {
        loadDataset("imagenet", "", 0);
        QFAIL("no ConfigError for an unknown dataset");
    } catch (const ConfigError& e) {
        QCOMPARE(e.key(), std::string("dataset"));
        const QString msg = QString::fromStdString(e.what());
        VERIFY_CONTAINS(msg, QStringLiteral("unknown dataset 'imagenet'"));
        for (const auto& name : datasetNames())
            VERIFY_CONTAINS(msg, QString::fromStdString(name));
    }
}

void TestDataLoaders::requiresDataDirForFileDatasets()
{
    for (const char* name : {"mnist", "fashion_mnist", "cifar10"}) {
        try {
            loadDataset(name, "", 0);
            QFAIL(qPrintable(QStringLiteral("no ConfigError for %1 without data_dir").arg(name)));
        } catch (const ConfigError& e) {
            QCOMPARE(e.key(), std::string("data_dir"));
        }
    }
}

void TestDataLoaders::listsDatasetNames()
{
    const auto names = datasetNames();
    for (const char* expected : {"synthetic", "mnist", "fashion_mnist", "cifar10"})
        QVERIFY(std::find(names.begin(), names.end(), expected) != names.end());
}

void TestDataLoaders::generatesSyntheticDeterministically()
{
    const DatasetSplit a = generateSyntheticDigits(300, 11, SyntheticSplit::Train);
    const DatasetSplit b = generateSyntheticDigits(300, 11, SyntheticSplit::Train);
    QVERIFY(torch::equal(a.images, b.images));
    QVERIFY(torch::equal(a.labels, b.labels));
    QCOMPARE(a.images.sizes().vec(), (std::vector<int64_t>{300, 1, 28, 28}));
    QCOMPARE(a.images.scalar_type(), torch::kUInt8);
    // Sample i does not depend on how many are generated: a bigger split extends a smaller one.
    const DatasetSplit prefix = generateSyntheticDigits(120, 11, SyntheticSplit::Train);
    QVERIFY(torch::equal(prefix.images, a.images.slice(0, 0, 120)));
}

// The samples are drawn in ranges over the worker pool: the same bytes on one thread and on two.
void TestDataLoaders::syntheticDoesNotDependOnThreads()
{
    const int before = at::get_num_threads();
    at::set_num_threads(1);
    const DatasetSplit one = generateSyntheticDigits(1500, 7, SyntheticSplit::Train);
    at::set_num_threads(2);
    const DatasetSplit two = generateSyntheticDigits(1500, 7, SyntheticSplit::Train);
    at::set_num_threads(before);
    QVERIFY(torch::equal(one.images, two.images));
    QVERIFY(torch::equal(one.labels, two.labels));
}

void TestDataLoaders::variesSyntheticAcrossSeedsAndSplits()
{
    const DatasetSplit a = generateSyntheticDigits(100, 11, SyntheticSplit::Train);
    const DatasetSplit b = generateSyntheticDigits(100, 12, SyntheticSplit::Train);
    const DatasetSplit test = generateSyntheticDigits(100, 11, SyntheticSplit::Test);
    // Every image differs, not just some: the streams share no samples.
    const auto differs = [](const torch::Tensor& x, const torch::Tensor& y) {
        return x.ne(y).flatten(1).any(1).all().item<bool>();
    };
    QVERIFY(differs(a.images, b.images));
    QVERIFY(differs(a.images, test.images));
}

void TestDataLoaders::coversAllSyntheticClasses()
{
    const DatasetSplit s = generateSyntheticDigits(1000, 3, SyntheticSplit::Test);
    const auto counts = torch::bincount(s.labels, {}, 10);
    QCOMPARE(counts.size(0), int64_t(10));
    for (int c = 0; c < 10; ++c)
        QCOMPARE(counts[c].item<int64_t>(), int64_t(100));
    QVERIFY(s.labels.min().item<int64_t>() == 0 && s.labels.max().item<int64_t>() == 9);
}

void TestDataLoaders::keepsSyntheticNonTrivial()
{
    const DatasetSplit train = generateSyntheticDigits(2000, 5, SyntheticSplit::Train);
    const DatasetSplit test = generateSyntheticDigits(1000, 5, SyntheticSplit::Test);
    const auto x = train.images.to(torch::kFloat).div(255).flatten(1);
    const auto xt = test.images.to(torch::kFloat).div(255).flatten(1);
    std::vector<torch::Tensor> means;
    for (int c = 0; c < 10; ++c)
        means.push_back(x.index({train.labels == c}).mean(0));
    const auto classMeans = torch::stack(means);

    // Class means are clearly apart: each class has its own shape...
    const auto between = torch::cdist(classMeans, classMeans) + torch::eye(10) * 1e6;
    QVERIFY2(between.min().item<double>() > 0.3, "class means nearly coincide");
    // ...but samples scatter further from their class mean than the means lie from each other,
    const auto within = (x - classMeans.index_select(0, train.labels)).norm(2, 1).mean().item<double>();
    QVERIFY2(within > between.min().item<double>(), "samples hug their class means");
    // ...so a nearest-class-mean rule is far better than chance yet far from perfect.
    const double ncm = torch::cdist(xt, classMeans).argmin(1).eq(test.labels).to(torch::kFloat).mean().item<double>();
    QVERIFY2(ncm > 0.2 && ncm < 0.9, qPrintable(QStringLiteral("nearest-class-mean accuracy %1").arg(ncm)));
    // No two samples are the same picture.
    QVERIFY(x.slice(0, 0, 10).ne(x.slice(0, 10, 20)).any(1).all().item<bool>());
}

void TestDataLoaders::loadsSyntheticWithTrainStatistics()
{
    const Dataset d = loadDataset("synthetic", "", 9, 500, 100);
    QCOMPARE(d.train.size(), int64_t(500));
    QCOMPARE(d.test.size(), int64_t(100));
    QCOMPARE(d.channels, int64_t(1));
    QCOMPARE(d.height, int64_t(28));
    QCOMPARE(d.width, int64_t(28));
    QCOMPARE(d.numClasses, int64_t(10));
    QVERIFY(!d.augment);
    const auto pixels = d.train.images.to(torch::kDouble).div(255);
    QCOMPARE(d.mean.size(), size_t(1));
    QVERIFY(std::abs(d.mean[0] - pixels.mean().item<double>()) < 1e-4);
    QVERIFY(std::abs(d.std[0] - pixels.std().item<double>()) < 1e-4);
    QVERIFY(d.mean[0] > 0.02 && d.mean[0] < 0.6 && d.std[0] > 0.05);
    QVERIFY(torch::equal(d.train.images, generateSyntheticDigits(500, 9, SyntheticSplit::Train).images));
}

void TestDataLoaders::repeatsEpochOrderForSameSeed()
{
    const Dataset d = indexedDataset(103, 1, 6, false);
    const BatchSampler a(d, 10, 42);
    const BatchSampler b(d, 10, 42);
    QCOMPARE(epochTargets(a, 3), epochTargets(b, 3));
    // Jumping between epochs (as a resumed run does) gives the same batches as going in order.
    const Batch direct = b.trainBatch(2, 4, torch::kCPU);
    b.trainBatch(5, 0, torch::kCPU);
    const Batch again = b.trainBatch(2, 4, torch::kCPU);
    const Batch fresh = a.trainBatch(2, 4, torch::kCPU);
    QVERIFY(torch::equal(direct.targets, again.targets));
    QVERIFY(torch::equal(direct.targets, fresh.targets));
    QVERIFY(torch::equal(direct.inputs, fresh.inputs));
}

void TestDataLoaders::changesOrderAcrossEpochsAndSeeds()
{
    const Dataset d = indexedDataset(200, 1, 4, false);
    const BatchSampler a(d, 20, 42);
    const BatchSampler b(d, 20, 43);
    QVERIFY(epochTargets(a, 0) != epochTargets(a, 1));
    QVERIFY(epochTargets(a, 0) != epochTargets(b, 0));
    // A shuffle, not the identity.
    std::vector<int64_t> identity(200);
    std::iota(identity.begin(), identity.end(), int64_t(0));
    QVERIFY(epochTargets(a, 0) != identity);
}

void TestDataLoaders::coversEpochWithoutRepeats()
{
    const Dataset d = indexedDataset(103, 1, 4, false);
    const BatchSampler keepLast(d, 10, 1, false);
    QCOMPARE(keepLast.batchesPerEpoch(), int64_t(11));
    auto all = epochTargets(keepLast, 0);
    QCOMPARE(all.size(), size_t(103));
    QCOMPARE(std::set<int64_t>(all.begin(), all.end()).size(), size_t(103));
    QCOMPARE(keepLast.trainBatch(0, 10, torch::kCPU).targets.size(0), int64_t(3));

    const BatchSampler dropLast(d, 10, 1, true);
    QCOMPARE(dropLast.batchesPerEpoch(), int64_t(10));
    all = epochTargets(dropLast, 4);
    QCOMPARE(all.size(), size_t(100));
    QCOMPARE(std::set<int64_t>(all.begin(), all.end()).size(), size_t(100));
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, dropLast.trainBatch(0, 10, torch::kCPU));
}

void TestDataLoaders::normalisesPixels()
{
    const Dataset d = indexedDataset(40, 3, 5, false);
    const BatchSampler s(d, 8, 2);
    const Batch b = s.trainBatch(1, 2, torch::kCPU);
    QCOMPARE(b.inputs.scalar_type(), torch::kFloat);
    QCOMPARE(b.inputs.sizes().vec(), (std::vector<int64_t>{8, 3, 5, 5}));
    QCOMPARE(b.targets.scalar_type(), torch::kLong);
    for (int64_t i = 0; i < 8; ++i) {
        const int64_t id = b.targets[i].item<int64_t>();
        for (int64_t c = 0; c < 3; ++c) {
            const auto raw = d.train.images[id][c].to(torch::kFloat);
            const auto expected = (raw / 255.0f - d.mean[size_t(c)]) / d.std[size_t(c)];
            QVERIFY(torch::allclose(b.inputs[i][c], expected, 1e-5, 1e-5));
        }
    }
}

void TestDataLoaders::servesTestBatchesInOrder()
{
    const Dataset d = indexedDataset(40, 1, 4, true); // test batches are never augmented
    const BatchSampler s(d, 8, 2);
    QCOMPARE(s.testBatches(), int64_t(3)); // 21 test samples: 8 + 8 + 5
    std::vector<int64_t> seen;
    for (int64_t t = 0; t < s.testBatches(); ++t) {
        const Batch b = s.testBatch(t, torch::kCPU);
        for (int64_t i = 0; i < b.targets.size(0); ++i) {
            const int64_t id = b.targets[i].item<int64_t>();
            seen.push_back(id);
            const auto expected = (d.test.images[id].to(torch::kFloat) / 255.0f - d.mean[0]) / d.std[0];
            QVERIFY(torch::allclose(b.inputs[i], expected, 1e-5, 1e-5));
        }
    }
    std::vector<int64_t> order(21);
    std::iota(order.begin(), order.end(), int64_t(0));
    QCOMPARE(seen, order);
}

void TestDataLoaders::augmentsDeterministicallyKeepingShape()
{
    const Dataset d = indexedDataset(64, 3, 32, true);
    const BatchSampler s(d, 16, 5);
    const Batch first = s.trainBatch(0, 1, torch::kCPU);
    QCOMPARE(first.inputs.sizes().vec(), (std::vector<int64_t>{16, 3, 32, 32}));
    QVERIFY(torch::equal(first.inputs, BatchSampler(d, 16, 5).trainBatch(0, 1, torch::kCPU).inputs));

    // Each augmented image is exactly one pad-4 crop of its source, possibly mirrored; and at least
    // one of them is not the plain image.
    const auto mean = torch::tensor(d.mean).view({3, 1, 1});
    const auto stdev = torch::tensor(d.std).view({3, 1, 1});
    int changed = 0;
    std::set<std::pair<int, int>> offsets;
    for (int64_t i = 0; i < 16; ++i) {
        const int64_t id = first.targets[i].item<int64_t>();
        const auto padded = torch::constant_pad_nd(d.train.images[id].to(torch::kFloat), {4, 4, 4, 4}, 0.0);
        bool matched = false;
        for (int oy = 0; oy <= 8 && !matched; ++oy) {
            for (int ox = 0; ox <= 8 && !matched; ++ox) {
                auto crop = padded.slice(1, oy, oy + 32).slice(2, ox, ox + 32);
                for (bool flip : {false, true}) {
                    const auto candidate = ((flip ? crop.flip({2}) : crop) / 255.0f - mean) / stdev;
                    if (torch::allclose(first.inputs[i], candidate, 1e-5, 1e-5)) {
                        matched = true;
                        offsets.insert({oy, ox});
                        changed += (oy != 4 || ox != 4 || flip) ? 1 : 0;
                        break;
                    }
                }
            }
        }
        QVERIFY2(matched, qPrintable(QStringLiteral("sample %1 is no crop/flip of its source").arg(id)));
    }
    QVERIFY(changed > 0);
    QVERIFY(offsets.size() > 1);
    // A later epoch augments the same images differently.
    std::map<int64_t, torch::Tensor> byId[2];
    for (int epoch = 0; epoch < 2; ++epoch)
        for (int64_t b = 0; b < s.batchesPerEpoch(); ++b) {
            const Batch batch = s.trainBatch(epoch, b, torch::kCPU);
            for (int64_t i = 0; i < batch.targets.size(0); ++i)
                byId[epoch][batch.targets[i].item<int64_t>()] = batch.inputs[i];
        }
    QCOMPARE(byId[0].size(), size_t(64));
    int differ = 0;
    for (const auto& [id, image] : byId[0])
        differ += torch::equal(image, byId[1].at(id)) ? 0 : 1;
    QVERIFY(differ > 32);
}

void TestDataLoaders::rejectsBadBatchSize()
{
    const Dataset d = indexedDataset(10, 1, 4, false);
    QVERIFY_THROWS_EXCEPTION(ConfigError, BatchSampler(d, 0, 1));
    QVERIFY_THROWS_EXCEPTION(ConfigError, BatchSampler(d, 11, 1, true));
    const BatchSampler partial(d, 11, 1, false);
    QCOMPARE(partial.batchesPerEpoch(), int64_t(1));
}

// The torch-free parsers the fuzz targets drive: the same results from a buffer, plain or gzip.
void TestDataLoaders::parsesIdxAndCifarFromMemory()
{
    const IdxFixture f = makeIdxFixture();
    const Bytes raw = idxImages(f.trainImages, kRows, kCols);
    const IdxImages images = parseIdxImages(raw.data(), raw.size(), "mem");
    QCOMPARE(images.count, uint32_t(6));
    QCOMPARE(images.pixels, Bytes(raw.begin() + 16, raw.end()));

    QTemporaryDir dir;
    const std::string gz = dir.path().toStdString() + "/labels.gz";
    writeGzip(gz, idxLabels(f.trainLabels));
    std::ifstream in(gz, std::ios::binary);
    const Bytes packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    QCOMPARE(parseIdxLabels(packed.data(), packed.size(), "mem.gz"), f.trainLabels);

    const Bytes cifar = cifarFile(3, 4);
    const CifarBatch batch = parseCifarBatch(cifar.data(), cifar.size(), "batch");
    QCOMPARE(batch.count, int64_t(3));
    QCOMPARE(batch.labels, (Bytes{4, 5, 6}));
    QCOMPARE(batch.pixels.size(), size_t(3 * 3072));
    VERIFY_CONTAINS(messageOf<DataError>([&] { parseCifarBatch(cifar.data(), 100, "short"); }), QStringLiteral("short: size 100"));
}

// Issue 14, defect 14: a sparse 100 GB IDX file failed with std::bad_alloc and no file name. Now the
// header is checked against the limit and the file size before anything is read or allocated.
void TestDataLoaders::rejectsSparseHugeIdxFile()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/train-images-idx3-ubyte";
    const qint64 hundredGiB = qint64(100) << 30;
    // 419,430,400 images of 16x16: exactly the 100 GiB that follow the header.
    writeSparse(path, bigEndianHeader({0x803, 419430400u, 16, 16}), 16 + hundredGiB);
    expectRefusedWithin(path, [&] { readIdxImages(path); }, QStringLiteral("more than the limit of 1024 MiB"), 50);

    // A header within the limit that disagrees with the huge file: a size mismatch, said as such.
    writeSparse(path, bigEndianHeader({0x803, 1000000, 28, 28}), hundredGiB);
    expectRefusedWithin(path, [&] { readIdxImages(path); }, QStringLiteral("unexpected trailing bytes"), 50);

    const std::string labels = dir.path().toStdString() + "/train-labels-idx1-ubyte";
    writeSparse(labels, bigEndianHeader({0x801, 0xFFFFFFF0u}), hundredGiB);
    expectRefusedWithin(labels, [&] { readIdxLabels(labels); }, QStringLiteral("4294967280 labels"), 50);
}

void TestDataLoaders::rejectsSparseHugeCifarFile()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/data_batch_1.bin";
    writeSparse(path, cifarFile(1, 0), qint64(3073) * 40000000); // 123 GB of whole records
    expectRefusedWithin(path, [&] { readCifarBatch(path); },
                        QStringLiteral("40000000 records, more than the limit of 60000"), 50);
}

// A 1 MB gzip stream that inflates to 1 GiB after a header declaring MNIST's 60000x28x28: reading
// stops right after the 47 MB the header declares (it took 4.4 GB before).
void TestDataLoaders::rejectsIdxGzipBombEarly()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/train-images-idx3-ubyte.gz";
    writeGzipBomb(path, bigEndianHeader({0x803, 60000, 28, 28}), 1024);
    expectRefusedWithin(path, [&] { readIdxImages(path); },
                        QStringLiteral("unexpected trailing bytes: expected 47040016 bytes"), 300);
}

// A gzip header declaring 2^31 images is refused from the header alone, without inflating the rest.
void TestDataLoaders::rejectsIdxGzipDeclaringTooMuch()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/t10k-images-idx3-ubyte.gz";
    writeGzipBomb(path, bigEndianHeader({0x803, 0x80000000u, 28, 28}), 1024);
    expectRefusedWithin(path, [&] { readIdxImages(path); }, QStringLiteral("2147483648 images of 28x28"), 100);

    // Within the limit but beyond what deflate can hold in so few bytes: truncated, said at once.
    const std::string small = dir.path().toStdString() + "/small.gz";
    writeGzip(small, bigEndianHeader({0x803, 1000000, 28, 28}));
    VERIFY_CONTAINS(messageOf<DataError>([&] { readIdxImages(small); }), QStringLiteral("holds at most"));
}

void TestDataLoaders::rejectsCifarGzipBomb()
{
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/data_batch_1.bin";
    writeGzipBomb(path, cifarFile(1, 0), 1024); // every record after the first: label 0, black
    expectRefusedWithin(path, [&] { readCifarBatch(path); }, QStringLiteral("more than the limit of 60000"), 700);
}

QTEST_GUILESS_MAIN(TestDataLoaders)
#include "test_data_loaders.moc"
