// PyTorch checkpoints read by the engine (engine/interop): state_dicts as torch.save writes them
// (plain, with mask tensors, pruned with torch.nn.utils.prune, inside a training checkpoint, with a
// torch.ao sparsifier's masks), a state_dict written with LibTorch read back, and every bad input
// refused with the file named.
#include <QtTest>

#include "engine/errors.hpp"
#include "engine/interop/checkpoint_layers.hpp"
#include "engine/interop/pytorch_file.hpp"
#include "engine/interop/restricted_unpickler.hpp"
#include "tests/support/torch_python.hpp"

#include <QTemporaryDir>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace srigl;
using namespace srigl::interop;

namespace {

// The masks pytorch_checkpoints.py builds by hand: fc1 [6, 12] keeps inputs r..r+3 in row r < 5
// (row 5 ablated); fc2 [3, 6] keeps {0, 5}, {1, 2, 3}, {4}.
bool expectedFc1(int64_t r, int64_t c) { return r < 5 && c >= r && c < r + 4; }
bool expectedFc2(int64_t r, int64_t c) {
    static const bool m[3][6] = {{1, 0, 0, 0, 0, 1}, {0, 1, 1, 1, 0, 0}, {0, 0, 0, 0, 1, 0}};
    return m[r][c];
}
bool bitAt(const LayerMaskSnapshot& m, int64_t r, int64_t c) {
    const int64_t i = r * m.fanIn + c;
    return (m.bits[static_cast<size_t>(i / 8)] >> (i % 8)) & 1u;
}

// `count` layers, fc1 and fc2 first as the hand masks say (fc1's mask read from `fc1Source`), and
// the weights zero exactly outside them.
void checkHandMasks(const std::vector<CheckpointLayer>& layers, size_t count, const std::string& fc1Source) {
    QCOMPARE(layers.size(), count);
    QCOMPARE(layers[0].maskSource, fc1Source);
    QCOMPARE(layers[0].name, std::string("fc1"));
    QCOMPARE(layers[1].name, std::string("fc2"));
    QCOMPARE(layers[0].shape, (std::vector<int64_t>{6, 12}));
    QCOMPARE(layers[1].shape, (std::vector<int64_t>{3, 6}));
    for (int l = 0; l < 2; ++l) {
        const auto& layer = layers[static_cast<size_t>(l)];
        for (int64_t r = 0; r < layer.mask.outFeatures; ++r)
            for (int64_t c = 0; c < layer.mask.fanIn; ++c) {
                const bool want = l == 0 ? expectedFc1(r, c) : expectedFc2(r, c);
                QCOMPARE(bitAt(layer.mask, r, c), want);
                const float w = layer.weights.values[static_cast<size_t>(r * layer.mask.fanIn + c)];
                QCOMPARE(w != 0.0f, want); // the fixtures have no weight that is exactly zero
            }
    }
    QCOMPARE(layers[0].mask.ablated, (std::vector<int64_t>{5}));
    QCOMPARE(layers[0].stats.k, int64_t{4}); // constant fan-in among the active neurons
    QCOMPARE(layers[0].stats.ablated, int64_t{1});
    QCOMPARE(layers[1].stats.k, int64_t{0}); // fan-in 2, 3, 1: not constant
    QCOMPARE(layers[1].stats.fanInMin, int64_t{1});
    QCOMPARE(layers[1].stats.fanInMax, int64_t{3});
}

// The CheckpointError message of reading `path`, "" when it reads.
QString readError(const std::string& path) {
    try {
        readCheckpointLayers(path);
    } catch (const CheckpointError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestPytorchCheckpoint : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void masksFromNonzerosOfPlainStateDict();
    void maskTensorsWinOverNonzeros();
    void pruneWeightOrigTimesWeightMask();
    void stateDictInsideTrainingCheckpoint();
    void sparsifierMasksOfParametrizedModel();
    void libtorchWrittenStateDictReadsBack();
    void concurrentExportIsRefusedNotTorn();
    void unknownClassIsRefusedByName();
    void fileWithoutLayersIsRefused();
    void maskOfOtherShapeIsRefused();
    void filesThatAreNoCheckpointAreRefused();
    void malformedPicklesAreRefused();

private:
    // A fixture file written by pytorch_checkpoints.py; "" without a python3 with torch.
    std::string fixture(const char* name);

    QString folder_;
    bool looked_ = false;
};

std::string TestPytorchCheckpoint::fixture(const char* name) {
    if (!looked_) {
        folder_ = pytorchFixtures(torchPython());
        looked_ = true;
    }
    return folder_.isEmpty() ? std::string() : (folder_ + "/" + name).toStdString();
}

#define FIXTURE(var, name)                                                                                     \
    const std::string var = fixture(name);                                                                     \
    SRIGL_REQUIRE_TORCH_PYTHON(QString::fromStdString(var))

void TestPytorchCheckpoint::masksFromNonzerosOfPlainStateDict() {
    FIXTURE(file, "plain.pt");
    checkHandMasks(readCheckpointLayers(file), 2, "nonzero weights");
}

void TestPytorchCheckpoint::maskTensorsWinOverNonzeros() {
    // The weights are dense there: only the mask tensors can give the hand masks.
    FIXTURE(file, "masked.pt");
    const auto layers = readCheckpointLayers(file);
    checkHandMasks(layers, 3, "fc1.mask");
    const auto& conv = layers[2];
    QCOMPARE(conv.name, std::string("conv"));
    QCOMPARE(conv.shape, (std::vector<int64_t>{4, 2, 3, 3}));
    QCOMPARE(conv.mask.fanIn, int64_t{18});
    QCOMPARE(conv.stats.k, int64_t{6}); // the middle row of each 3x3 kernel, both input channels
    for (int64_t c = 0; c < 18; ++c) QCOMPARE(bitAt(conv.mask, 0, c), (c % 9) / 3 == 1);
}

void TestPytorchCheckpoint::pruneWeightOrigTimesWeightMask() {
    FIXTURE(file, "pruned.pt");
    checkHandMasks(readCheckpointLayers(file), 2, "fc1.weight_mask");
}

void TestPytorchCheckpoint::stateDictInsideTrainingCheckpoint() {
    FIXTURE(file, "nested.pt");
    const PickleRef root = readPyTorchFile(file);
    const StateDict sd = findStateDict(*root, file);
    QCOMPARE(sd.path, std::string("state_dict"));
    QCOMPARE(sd.tensors.size(), size_t{4}); // fc1/fc2 weight and bias; not the optimizer's buffers
    checkHandMasks(checkpointLayers(sd, file), 2, "nonzero weights");
}

void TestPytorchCheckpoint::sparsifierMasksOfParametrizedModel() {
    // torch.ao's parametrized weights are dense; the masks live in the sparsifier's state.
    FIXTURE(file, "sparsifier.pt");
    checkHandMasks(readCheckpointLayers(file), 2, "sparsifier.state.fc1.weight.mask");
}

void TestPytorchCheckpoint::libtorchWrittenStateDictReadsBack() {
    QTemporaryDir dir;
    const std::string file = dir.filePath("written.pt").toStdString();
    torch::manual_seed(3);
    const auto weight = torch::randn({5, 7});
    const auto mask = torch::rand({5, 7}) > 0.5;
    const auto conv = torch::randn({2, 3, 3, 3}).to(torch::kDouble);
    writePyTorchStateDict(file, {{"a.weight", weight}, {"a.mask", mask}, {"c.weight", conv}});
    const PickleRef root = readPyTorchFile(file);
    const StateDict sd = findStateDict(*root, file);
    QCOMPARE(sd.tensors.size(), size_t{3});
    QCOMPARE(sd.tensors[0].name, std::string("a.weight")); // the order written
    QVERIFY(torch::equal(sd.tensors[0].tensor, weight));
    QCOMPARE(sd.tensors[1].tensor.scalar_type(), torch::kBool);
    QVERIFY(torch::equal(sd.tensors[1].tensor, mask));
    QCOMPARE(sd.tensors[2].tensor.scalar_type(), torch::kDouble);
    QVERIFY(torch::equal(sd.tensors[2].tensor, conv));
    const auto layers = checkpointLayers(sd, file);
    QCOMPARE(layers[0].maskSource, std::string("a.mask"));
    QCOMPARE(layers[0].stats.sparsity, 1.0 - mask.sum().item<double>() / 35.0);
}

// Two exports to one file at the same moment: the second used to write the same `FILE.part` as the
// first, so their bytes could interleave and a torn file be renamed into place. Now the temporary
// file is locked (writeFileAtomically) and the second export fails clearly; the file is kept.
void TestPytorchCheckpoint::concurrentExportIsRefusedNotTorn() {
    QTemporaryDir dir;
    const std::string file = dir.filePath("model.pt").toStdString();
    writePyTorchStateDict(file, {{"w", torch::ones({3})}});
    std::ifstream first(file, std::ios::binary);
    const std::string before((std::istreambuf_iterator<char>(first)), {});
    // The other exporter, half-way through: its temporary file open and locked.
    const int other = ::open((file + ".tmp").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    QVERIFY(other >= 0);
    QCOMPARE(::flock(other, LOCK_EX | LOCK_NB), 0);
    try {
        writePyTorchStateDict(file, {{"w", torch::zeros({3})}});
        ::close(other);
        QFAIL("expected CheckpointError");
    } catch (const CheckpointError& e) {
        QVERIFY2(QString(e.what()).contains("cannot write PyTorch file '" + QString::fromStdString(file) +
                                            "': another process is writing it right now"),
                 e.what());
    }
    ::close(other);
    std::ifstream after(file, std::ios::binary);
    QCOMPARE(std::string((std::istreambuf_iterator<char>(after)), {}), before);
    // That exporter died: its temporary file is taken over, and the export is whole.
    writePyTorchStateDict(file, {{"w", torch::zeros({3})}});
    const StateDict sd = findStateDict(*readPyTorchFile(file), file);
    QVERIFY(torch::equal(sd.tensors.at(0).tensor, torch::zeros({3})));
    QVERIFY(!QFile::exists(QString::fromStdString(file + ".tmp")));
}

void TestPytorchCheckpoint::unknownClassIsRefusedByName() {
    FIXTURE(file, "unknown_class.pt");
    const QString error = readError(file);
    QVERIFY2(error.startsWith(QString::fromStdString(file) + ":"), qPrintable(error));
    QVERIFY2(error.contains("__main__.Config"), qPrintable(error));
}

void TestPytorchCheckpoint::fileWithoutLayersIsRefused() {
    FIXTURE(file, "no_layers.pt");
    const QString error = readError(file);
    QVERIFY2(error.startsWith(QString::fromStdString(file) + ":"), qPrintable(error));
    QVERIFY2(error.contains("no Linear or Conv2d weight"), qPrintable(error));
}

void TestPytorchCheckpoint::maskOfOtherShapeIsRefused() {
    FIXTURE(file, "mask_shape.pt");
    const QString error = readError(file);
    QVERIFY2(error.startsWith(QString::fromStdString(file) + ":"), qPrintable(error));
    QVERIFY2(error.contains("fc1.mask has shape [6, 11]") && error.contains("[6, 12]"), qPrintable(error));
}

void TestPytorchCheckpoint::filesThatAreNoCheckpointAreRefused() {
    QTemporaryDir dir;
    const std::string good = dir.filePath("good.pt").toStdString();
    writePyTorchStateDict(good, {{"fc.weight", torch::ones({2, 3})}});
    QVERIFY(readError(good).isEmpty());
    std::string bytes;
    {
        std::ifstream in(good, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string truncated = dir.filePath("truncated.pt").toStdString();
    std::ofstream(truncated, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    const std::string text = dir.filePath("notes.pt").toStdString();
    std::ofstream(text) << "not a checkpoint\n";
    const std::string legacy = dir.filePath("legacy.pt").toStdString();
    std::ofstream(legacy, std::ios::binary) << "\x80\x02\x8a\x0a";
    const std::string folder = dir.path().toStdString();
    const std::string missing = dir.filePath("missing.pt").toStdString();
    const std::pair<std::string, const char*> cases[] = {{truncated, "truncated zip"}, {text, "not a zip archive"},
                                                         {legacy, "legacy torch.save"}, {folder, "is a folder"},
                                                         {missing, "no such file"}};
    for (const auto& [path, words] : cases) {
        const QString error = readError(path);
        QVERIFY2(error.startsWith(QString::fromStdString(path) + ":"), qPrintable(error));
        QVERIFY2(error.contains(words), qPrintable(error));
    }
}

void TestPytorchCheckpoint::malformedPicklesAreRefused() {
    const StorageLoader none = [](const std::string&, torch::ScalarType, int64_t) -> torch::Tensor {
        throw CheckpointError("no storage expected");
    };
    // Protocol 2: an empty dict, then STOP.
    QVERIFY(unpickle(std::string("\x80\x02}.", 4), none)->is(PickleValue::Kind::Dict));
    const std::pair<std::string, const char*> cases[] = {
        {std::string("\x80\x02}", 3), "truncated"},                 // no STOP
        {std::string("\x80\x02s.", 4), "stack underflow"},          // SETITEM on nothing
        {std::string("\x80\x02h\x05.", 5), "memo entry 5"},         // BINGET of an unset memo
        {std::string("\x80\x02}}.", 5), "one object"},              // two objects left
        {std::string("\x80\x02" "cos\nsystem\n.", 14), "os.system"},   // never run, named
        {std::string("\x80\x02\xff.", 4), "opcode 0xff"},
        {"\x80\x02]" + std::string(300, '\x85') + ".", "nested more than"}, // 300 tuples, each holding the last
        {std::string("\x80\x02]q\x00" "h\x00" "a.", 9), "holds itself"},     // a list appended to itself (found by fuzzing)
    };
    for (const auto& [bytes, words] : cases) {
        QString error;
        try {
            unpickle(bytes, none);
        } catch (const CheckpointError& e) {
            error = QString::fromStdString(e.what());
        }
        QVERIFY2(error.contains(words), qPrintable(QString("%1: '%2'").arg(words, error)));
    }
}

QTEST_GUILESS_MAIN(TestPytorchCheckpoint)
#include "test_pytorch_checkpoint.moc"
