// Condensed inference: condensing a layer, folding ablated neurons across a classifier, whole
// models equal to their masked dense twins, the export folder, and the benchmark harness's checks.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/inference/condensed_export.hpp"
#include "engine/inference/layer_bench.hpp"
#include "engine/inference/npy_file.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "engine/training/trainer.hpp"
#include "tests/support/guarded.hpp"

#include <QTemporaryDir>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace srigl;

namespace {

double relativeError(const torch::Tensor& y, const torch::Tensor& ref) {
    const double scale = std::max(ref.abs().max().item<double>(), 1e-30);
    return (y.to(torch::kDouble) - ref.to(torch::kDouble)).abs().max().item<double>() / scale;
}

// Constant fan-in masks with some neurons ablated on every classifier layer, and biases large
// enough that an ablated neuron's constant output matters downstream.
void sparsifyClassifier(SparseModelImpl& model, double sparsity, double ablatedFraction, uint64_t seed) {
    torch::NoGradGuard noGrad;
    for (SparseLinearImpl* layer : model.classifier()) {
        const MaskedLayer m = randomConstantFanInLayer(layer->weight.size(1), layer->weight.size(0), sparsity,
                                                       ablatedFraction, seed++);
        layer->setMask(m.mask);
        layer->weight.copy_(m.weight);
        layer->bias.copy_(m.bias.abs() + 0.05); // positive: relu(bias) of an ablated neuron is not 0
        layer->applyMask();
    }
}

std::string readAll(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

CondensedModel condensedMlp(const char* hidden, uint64_t seed) {
    auto model = buildModel("mlp", hidden, InputShape{});
    sparsifyClassifier(*model, 0.5, 0.0, seed);
    return CondensedModel(model);
}

// Every file below `dir` (relative name -> bytes) and every folder ("name/" -> ""): what "as it
// was" means for a folder.
std::map<std::string, std::string> folderContents(const std::string& dir) {
    std::map<std::string, std::string> contents;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        const std::string name = entry.path().lexically_relative(dir).string();
        if (entry.is_directory()) contents[name + "/"] = "";
        else contents[name] = readAll(entry.path().string());
    }
    return contents;
}

// The names in `dir`, hidden ones too: a staging folder left behind shows here.
QStringList entriesOf(const QString& dir) {
    return QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDir::Name);
}

// The message of the InferenceError that `body` throws ("" when it throws none).
std::string inferenceErrorOf(const std::function<void()>& body) {
    try {
        body();
    } catch (const InferenceError& e) {
        return e.what();
    }
    return "";
}

// The same while no file of this process may grow beyond `bytes`: writes past it fail (EFBIG) as
// on a full disk, SIGXFSZ ignored so that the write returns the error.
std::string errorOnAFullDisk(rlim_t bytes, const std::function<void()>& body) {
    rlimit saved{};
    ::getrlimit(RLIMIT_FSIZE, &saved);
    rlimit full = saved;
    full.rlim_cur = bytes;
    const auto handler = std::signal(SIGXFSZ, SIG_IGN);
    ::setrlimit(RLIMIT_FSIZE, &full);
    std::string error;
    try {
        error = inferenceErrorOf(body);
    } catch (...) {
        error = "another exception";
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, handler);
    return error;
}

} // namespace

class TestCondensedInference : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Out of line: tests/CMakeLists.txt reads the slot names up to the first closing brace, so a
    // body here hid every case of this suite from CTest.
    void initTestCase();
    void layerMatchesDenseInt16();
    void layerMatchesDenseInt32();
    void layerWithKOneAndKFanIn();
    void indicesAscendAndMatchMask();
    void notConstantFanInIsRejected();
    void mismatchedShapesAreRejected();
    void ablatedRowsAreDroppedOrKept();
    void foldingMovesAblatedOutputsIntoBias();
    void mlpWithAblationMatchesMaskedModel();
    void fullyAblatedHiddenLayerStillMatches();
    void lenet5ClassifierMatches();
    void resnet18ClassifierMatches();
    void trainedSriglCheckpointCondensesExactly();
    void exportRoundTrip();
    void exportRefusesFolderInTheWay();
    void exportReplacesAnEarlierExportWhole();
    void failedExportKeepsTheEarlierExport();
    void exportNeverReplacesTheUsersFiles();
    void exportRemovesStagingOfDeadWritersOnly();
    void npyOnAFullDiskIsAnError();
    void corruptExportIsRejected();
    void npyRoundTripKeepsTypesAndShapes();
    void benchChecksEveryVariantBeforeTiming();
    void benchRejectsUnknownDevice();
};

void TestCondensedInference::initTestCase() { torch::manual_seed(0); }

void TestCondensedInference::layerMatchesDenseInt16() {
    guarded([] {
        const MaskedLayer m = randomConstantFanInLayer(301, 97, 0.9, 0.0, 7);
        const CondensedLinear c = condenseLinear(m.weight, m.mask, m.bias, "fc");
        QVERIFY(c.indices16());
        QCOMPARE(c.rows(), int64_t{97});
        QCOMPARE(c.k, int64_t{30});
        for (int64_t batch : {1, 5, 64}) {
            torch::Tensor x = torch::randn({batch, 301});
            QVERIFY(relativeError(c.forward(x), torch::linear(x, m.weight, m.bias)) <= 1e-5);
            QVERIFY(relativeError(c.reference(x), torch::linear(x, m.weight, m.bias)) <= 1e-5);
        }
    });
}

void TestCondensedInference::layerMatchesDenseInt32() {
    guarded([] {
        const MaskedLayer m = randomConstantFanInLayer(40000, 6, 0.999, 0.0, 3);
        const CondensedLinear c = condenseLinear(m.weight, m.mask, m.bias);
        QVERIFY(!c.indices16()); // 40000 inputs do not fit int16
        QCOMPARE(c.indices.scalar_type(), torch::kInt);
        torch::Tensor x = torch::randn({3, 40000});
        QVERIFY(relativeError(c.forward(x), torch::linear(x, m.weight, m.bias)) <= 1e-5);
    });
}

void TestCondensedInference::layerWithKOneAndKFanIn() {
    guarded([] {
        for (double sparsity : {0.99, 0.0}) {
            const MaskedLayer m = randomConstantFanInLayer(64, 33, sparsity, 0.0, 11);
            const CondensedLinear c = condenseLinear(m.weight, m.mask, m.bias);
            QCOMPARE(c.k, sparsity == 0.0 ? int64_t{64} : int64_t{1});
            torch::Tensor x = torch::randn({9, 64});
            QVERIFY(relativeError(c.forward(x), torch::linear(x, m.weight, m.bias)) <= 1e-5);
        }
    });
}

void TestCondensedInference::indicesAscendAndMatchMask() {
    guarded([] {
        const MaskedLayer m = randomConstantFanInLayer(50, 20, 0.8, 0.0, 5);
        const CondensedLinear c = condenseLinear(m.weight, m.mask, m.bias);
        torch::Tensor idx = c.indices.to(torch::kLong);
        QVERIFY((idx.slice(1, 1) > idx.slice(1, 0, -1)).all().item<bool>());
        torch::Tensor rebuilt = torch::zeros({20, 50}, torch::kBool).scatter_(1, idx, true);
        QVERIFY(rebuilt.equal(m.mask));
        QVERIFY(c.values.equal(m.weight.gather(1, idx)));
    });
}

void TestCondensedInference::notConstantFanInIsRejected() {
    torch::Tensor mask = torch::zeros({4, 10}, torch::kBool);
    mask.slice(1, 0, 3).fill_(true);
    mask[2][5] = true; // neuron 2 has 4 inputs, the others 3
    try {
        condenseLinear(torch::randn({4, 10}), mask, torch::Tensor(), "fc2");
        QFAIL("expected InferenceError");
    } catch (const InferenceError& e) {
        const QString what = e.what();
        QVERIFY2(what.contains("fc2") && what.contains("not constant fan-in") && what.contains("neuron 2"), e.what());
    }
}

void TestCondensedInference::mismatchedShapesAreRejected() {
    auto throwsWith = [](const std::function<void()>& f, const char* text) {
        try {
            f();
        } catch (const InferenceError& e) {
            return QString(e.what()).contains(text);
        }
        return false;
    };
    const torch::Tensor w = torch::randn({4, 10});
    const torch::Tensor mask = torch::ones({4, 10}, torch::kBool);
    QVERIFY(throwsWith([&] { condenseLinear(w, torch::ones({4, 9}, torch::kBool), torch::Tensor()); }, "does not match"));
    QVERIFY(throwsWith([&] { condenseLinear(w, mask, torch::zeros({5})); }, "bias"));
    const CondensedLinear c = condenseLinear(w, mask, torch::Tensor(), "fc1");
    QVERIFY(throwsWith([&] { c.forward(torch::randn({2, 11})); }, "fc1 expects inputs of shape [batch, 10]"));
}

void TestCondensedInference::ablatedRowsAreDroppedOrKept() {
    guarded([] {
        const MaskedLayer m = randomConstantFanInLayer(40, 30, 0.75, 0.3, 9); // 9 neurons ablated
        const CondensedLinear dropped = condenseLinear(m.weight, m.mask, m.bias);
        QCOMPARE(dropped.rows(), int64_t{21});
        torch::Tensor live = m.mask.any(1).nonzero().squeeze(1);
        QCOMPARE(std::vector<int64_t>(live.data_ptr<int64_t>(), live.data_ptr<int64_t>() + live.numel()), dropped.rowIds);
        torch::Tensor x = torch::randn({6, 40});
        QVERIFY(relativeError(dropped.forward(x), torch::linear(x, m.weight, m.bias).index_select(1, live)) <= 1e-5);
        const CondensedLinear kept = condenseLinear(m.weight, m.mask, m.bias, "", true);
        QCOMPARE(kept.rows(), int64_t{30});
        QVERIFY(relativeError(kept.forward(x), torch::linear(x, m.weight, m.bias)) <= 1e-5);
    });
}

void TestCondensedInference::foldingMovesAblatedOutputsIntoBias() {
    guarded([] {
        // Producer: 3 neurons, neuron 1 ablated with bias 2 (relu -> 2). Consumer reads all three.
        torch::Tensor pw = torch::tensor({{1.0f, 0.0f}, {0.0f, 0.0f}, {0.0f, 3.0f}});
        torch::Tensor pb = torch::tensor({0.5f, 2.0f, -1.0f});
        const CondensedLinear producer = condenseLinear(pw, pw.ne(0), pb, "a");
        torch::Tensor cwFull = torch::tensor({{1.0f, 10.0f, 0.0f}, {0.0f, 4.0f, 5.0f}});
        CondensedLinear consumer = condenseLinear(cwFull, cwFull.ne(0), torch::tensor({0.0f, 1.0f}), "b");
        foldAblatedInputs(producer, pb, consumer);
        QCOMPARE(consumer.inFeatures, int64_t{2});
        QCOMPARE(consumer.k, int64_t{2}); // fan-in stays constant: the folded entry becomes a zero weight
        QCOMPARE(consumer.bias[0].item<float>(), 20.0f); // 0 + 10 * relu(2)
        QCOMPARE(consumer.bias[1].item<float>(), 9.0f);  // 1 + 4 * relu(2)
        torch::Tensor x = torch::randn({5, 2});
        torch::Tensor expected = torch::linear(torch::relu(torch::linear(x, pw, pb)), cwFull, torch::tensor({0.0f, 1.0f}));
        torch::Tensor got = consumer.forward(torch::relu(producer.forward(x)));
        QVERIFY(relativeError(got, expected) <= 1e-5);
    });
}

void TestCondensedInference::mlpWithAblationMatchesMaskedModel() {
    guarded([] {
        auto model = buildModel("mlp", "300,100", InputShape{});
        sparsifyClassifier(*model, 0.9, 0.2, 21);
        model->eval();
        const CondensedModel condensed(model);
        QCOMPARE(condensed.layers().size(), size_t{3});
        QCOMPARE(condensed.layers()[0].rows(), int64_t{240});
        QCOMPARE(condensed.layers()[1].inFeatures, int64_t{240});
        QCOMPARE(condensed.layers()[2].rows(), int64_t{10}); // outputs are never removed
        QCOMPARE(condensed.removedNeurons(), int64_t{60 + 20});
        torch::NoGradGuard noGrad;
        for (int64_t batch : {1, 17, 128}) {
            torch::Tensor x = torch::randn({batch, 1, 28, 28});
            const double err = relativeError(condensed.forward(x), model->forward(x));
            QVERIFY2(err <= 1e-5, qPrintable(QString::number(err)));
        }
    });
}

void TestCondensedInference::fullyAblatedHiddenLayerStillMatches() {
    guarded([] {
        auto model = buildModel("mlp", "20,10", InputShape{});
        sparsifyClassifier(*model, 0.5, 0.0, 4);
        torch::NoGradGuard noGrad;
        SparseLinearImpl* hidden = model->classifier()[1];
        hidden->setMask(torch::zeros_like(hidden->mask));
        hidden->applyMask();
        model->eval();
        const CondensedModel condensed(model);
        torch::Tensor x = torch::randn({4, 1, 28, 28});
        QVERIFY(relativeError(condensed.forward(x), model->forward(x)) <= 1e-5);
    });
}

void TestCondensedInference::lenet5ClassifierMatches() {
    guarded([] {
        auto model = buildModel("lenet5", "", InputShape{});
        sparsifyClassifier(*model, 0.8, 0.15, 8);
        model->eval();
        const CondensedModel condensed(model);
        QCOMPARE(condensed.layers().front().name, std::string("fc1"));
        torch::NoGradGuard noGrad;
        torch::Tensor x = torch::randn({8, 1, 28, 28});
        QVERIFY(relativeError(condensed.forward(x), model->forward(x)) <= 1e-5);
    });
}

void TestCondensedInference::resnet18ClassifierMatches() {
    guarded([] {
        auto model = buildModel("resnet18", "", InputShape{3, 32, 32, 10});
        sparsifyClassifier(*model, 0.9, 0.0, 2);
        model->eval();
        const CondensedModel condensed(model);
        torch::NoGradGuard noGrad;
        torch::Tensor x = torch::randn({2, 3, 32, 32});
        QVERIFY(relativeError(condensed.forward(x), model->forward(x)) <= 1e-5);
    });
}

void TestCondensedInference::trainedSriglCheckpointCondensesExactly() {
    guarded([] {
        QTemporaryDir dir;
        RunConfig c;
        c.synthetic_train = 512;
        c.synthetic_test = 128;
        c.hidden = "64,32";
        c.method = "srigl";
        c.sparsity = 0.95;
        c.gamma_sal = 0.9; // ablate eagerly so that folding is exercised on a real run
        c.batch_size = 32;
        c.epochs = 2;
        c.delta_t = 5;
        c.threads = 1;
        Trainer trainer(c);
        trainer.run();
        const std::string path = dir.filePath("run.ckpt").toStdString();
        trainer.saveCheckpoint(path);
        CheckpointModel loaded = loadCheckpointModel(path);
        QCOMPARE(loaded.step, trainer.step());
        const CondensedModel condensed(loaded.model);
        torch::NoGradGuard noGrad;
        torch::Tensor x = torch::randn({16, 1, 28, 28});
        QVERIFY(relativeError(condensed.forward(x), loaded.model->forward(x)) <= 1e-5);
        int64_t totalK = 0;
        for (const auto& layer : condensed.layers()) totalK += layer.k;
        QVERIFY(totalK > 0);
    });
}

void TestCondensedInference::exportRoundTrip() {
    guarded([] {
        QTemporaryDir tmp;
        auto model = buildModel("mlp", "50,20", InputShape{});
        sparsifyClassifier(*model, 0.9, 0.2, 30);
        model->eval();
        const CondensedModel condensed(model);
        ExportSource source;
        source.config.model = "mlp";
        source.config.hidden = "50,20";
        source.step = 42;
        const std::string dir = tmp.filePath("export").toStdString();
        exportCondensed(condensed, source, dir);
        const std::string manifest = readAll(dir + "/manifest.json");
        QVERIFY(manifest.find("\"srigl-condensed\"") != std::string::npos);
        QVERIFY(manifest.find("\"step\": 42") != std::string::npos);
        const std::vector<CondensedLinear> back = readCondensedClassifier(dir);
        QCOMPARE(back.size(), condensed.layers().size());
        for (size_t i = 0; i < back.size(); ++i) {
            QVERIFY(back[i].values.equal(condensed.layers()[i].values));
            QVERIFY(back[i].indices.equal(condensed.layers()[i].indices));
            QCOMPARE(back[i].rowIds, condensed.layers()[i].rowIds);
        }
        // The check pair in the folder is what a reader must reproduce.
        torch::Tensor x = readNpy(dir + "/check_features.npy");
        for (size_t i = 0; i < back.size(); ++i) {
            x = back[i].forward(x);
            if (i + 1 < back.size()) x = torch::relu(x);
        }
        QVERIFY(relativeError(x, readNpy(dir + "/check_output.npy")) <= 1e-5);
    });
}

void TestCondensedInference::exportRefusesFolderInTheWay() {
    QTemporaryDir tmp;
    const std::string dir = tmp.filePath("taken").toStdString();
    std::filesystem::create_directories(dir);
    { std::ofstream(dir + "/notes.txt") << "mine"; }
    auto model = buildModel("mlp", "8", InputShape{});
    sparsifyClassifier(*model, 0.5, 0.0, 1);
    const CondensedModel condensed(model);
    try {
        exportCondensed(condensed, ExportSource{}, dir);
        QFAIL("expected InferenceError");
    } catch (const InferenceError& e) {
        QVERIFY2(QString(e.what()).contains("not empty"), e.what());
    }
    QCOMPARE(readAll(dir + "/notes.txt"), std::string("mine"));
    QVERIFY(!std::filesystem::exists(dir + "/manifest.json"));
}

// --force over an earlier export: the new one replaces it whole (no file of the old one left, no
// staging folder beside it).
void TestCondensedInference::exportReplacesAnEarlierExportWhole() {
    guarded([] {
        QTemporaryDir tmp;
        const std::string dir = tmp.filePath("export").toStdString();
        exportCondensed(condensedMlp("50,20", 1), ExportSource{}, dir);
        QVERIFY(std::filesystem::exists(dir + "/fc3.values.npy"));
        const CondensedModel newer = condensedMlp("30", 7);
        exportCondensed(newer, ExportSource{}, dir, true);
        const std::vector<CondensedLinear> back = readCondensedClassifier(dir);
        QCOMPARE(back.size(), newer.layers().size());
        for (size_t i = 0; i < back.size(); ++i) {
            QVERIFY(back[i].values.equal(newer.layers()[i].values));
            QVERIFY(back[i].indices.equal(newer.layers()[i].indices));
            QVERIFY(back[i].bias.equal(newer.layers()[i].bias));
            QCOMPARE(back[i].rowIds, newer.layers()[i].rowIds);
        }
        QVERIFY(!std::filesystem::exists(dir + "/fc3.values.npy"));
        QCOMPARE(entriesOf(tmp.path()), QStringList{"export"});
        // Through a link: the folder it points to is replaced, the link stays.
        const std::string link = tmp.filePath("linked").toStdString();
        std::filesystem::create_directory_symlink(dir, link);
        exportCondensed(condensedMlp("50,20", 1), ExportSource{}, link, true);
        QVERIFY(std::filesystem::is_symlink(link));
        QCOMPARE(readCondensedClassifier(dir).size(), size_t{3});
        QCOMPARE(entriesOf(tmp.path()), (QStringList{"export", "linked"}));
    });
}

// A full disk midway through the new export (its classifier written, its check input too large):
// the earlier export stays byte for byte, and nothing is left beside it.
void TestCondensedInference::failedExportKeepsTheEarlierExport() {
    guarded([] {
        QTemporaryDir tmp;
        const std::string dir = tmp.filePath("export").toStdString();
        exportCondensed(condensedMlp("50,20", 1), ExportSource{}, dir);
        const auto before = folderContents(dir);
        // fc1: 4 x 392 float32 values (6.4 KB); check_input.npy: 4 x 784 float32 (12.7 KB).
        const CondensedModel newer = condensedMlp("4", 7);
        const std::string error = errorOnAFullDisk(10000, [&] { exportCondensed(newer, ExportSource{}, dir, true); });
        QVERIFY2(error.find("check_input.npy") != std::string::npos, error.c_str());
        QVERIFY(folderContents(dir) == before);
        QCOMPARE(entriesOf(tmp.path()), QStringList{"export"});
    });
}

// --force replaces an earlier export only: a folder of the user's files, or an export that also
// holds one of theirs (beside it or in features/), is refused and left as it was.
void TestCondensedInference::exportNeverReplacesTheUsersFiles() {
    guarded([] {
        QTemporaryDir tmp;
        const CondensedModel model = condensedMlp("8", 3);
        const std::string mine = tmp.filePath("mine").toStdString();
        std::filesystem::create_directories(mine + "/photos");
        { std::ofstream(mine + "/notes.txt") << "mine"; }
        { std::ofstream(mine + "/photos/a.jpg") << "jpeg"; }
        const auto mineBefore = folderContents(mine);
        std::string error = inferenceErrorOf([&] { exportCondensed(model, ExportSource{}, mine, true); });
        QVERIFY2(error.find("not a SRigL condensed export") != std::string::npos, error.c_str());
        QVERIFY(folderContents(mine) == mineBefore);

        const std::string dir = tmp.filePath("export").toStdString();
        exportCondensed(model, ExportSource{}, dir);
        for (const std::string name : {"notes.txt", "features/notes.txt"}) {
            { std::ofstream(dir + "/" + name) << "mine"; }
            const auto before = folderContents(dir);
            error = inferenceErrorOf([&] { exportCondensed(model, ExportSource{}, dir, true); });
            QVERIFY2(error.find(name) != std::string::npos, error.c_str());
            QVERIFY(folderContents(dir) == before);
            std::filesystem::remove(dir + "/" + name);
        }
        QCOMPARE(entriesOf(tmp.path()), (QStringList{"export", "mine"}));
    });
}

// A killed export leaves its staging folder: the next export to the same target removes it when
// its writer is dead, and keeps those of live writers, of other targets and whatever is not one.
void TestCondensedInference::exportRemovesStagingOfDeadWritersOnly() {
    guarded([] {
        const pid_t dead = fork();
        if (dead == 0) _exit(0);
        waitpid(dead, nullptr, 0);
        QTemporaryDir tmp;
        const std::string parent = tmp.path().toStdString() + "/";
        const std::string deadStaging = ".export.srigl-partial-" + std::to_string(dead) + "-0";
        const std::string liveStaging = ".export.srigl-partial-" + std::to_string(::getppid()) + "-0";
        const QStringList kept{".export.srigl-partial-" + QString::number(dead) + "-0x",
                               ".export.srigl-partial-" + QString::number(dead) + "-1",
                               QString::fromStdString(liveStaging),
                               ".other.srigl-partial-" + QString::number(dead) + "-0"};
        for (const std::string& folder : {deadStaging, liveStaging, kept[0].toStdString(), kept[3].toStdString()}) {
            std::filesystem::create_directories(parent + folder + "/features");
            { std::ofstream(parent + folder + "/features/conv1.weight.npy") << "partial"; }
        }
        { std::ofstream(parent + kept[1].toStdString()) << "a file, not a staging folder"; }
        // A link in a dead writer's staging folder is removed, not followed.
        { std::ofstream(parent + "victim.npy") << "the user's"; }
        std::filesystem::create_symlink(parent + "victim.npy", parent + deadStaging + "/features/victim.npy");
        std::filesystem::create_directory_symlink(parent, parent + deadStaging + "/parent");
        exportCondensed(condensedMlp("8", 3), ExportSource{}, parent + "export");
        QCOMPARE(readAll(parent + "victim.npy"), std::string("the user's"));
        QStringList expected = kept + QStringList{"export", "victim.npy"};
        expected.sort();
        QCOMPARE(entriesOf(tmp.path()), expected);
        QCOMPARE(readAll(parent + liveStaging + "/features/conv1.weight.npy"), std::string("partial"));
    });
}

// A write that fails, even in the final flush of a small file, is an error naming the file.
void TestCondensedInference::npyOnAFullDiskIsAnError() {
    guarded([] {
        QTemporaryDir tmp;
        // 528 bytes: an ofstream keeps them in its buffer and fails only in its final flush; 400 KB
        // are written at once.
        for (const int64_t size : {100, 100000}) {
            const std::string path = tmp.filePath(QString("t%1.npy").arg(size)).toStdString();
            const std::string error = errorOnAFullDisk(200, [&] { writeNpy(path, torch::randn({size})); });
            QVERIFY2(error.find(path) != std::string::npos, error.c_str());
        }
    });
}

void TestCondensedInference::corruptExportIsRejected() {
    QTemporaryDir tmp;
    auto model = buildModel("mlp", "8", InputShape{});
    sparsifyClassifier(*model, 0.5, 0.0, 1);
    const std::string dir = tmp.filePath("e").toStdString();
    guarded([&] { exportCondensed(CondensedModel(model), ExportSource{}, dir); });
    auto rejects = [&](const char* text) {
        try {
            readCondensedClassifier(dir);
        } catch (const InferenceError& e) {
            return QString(e.what()).contains(text);
        }
        return false;
    };
    // Indices pointing past the inputs.
    torch::Tensor idx = readNpy(dir + "/fc1.indices.npy");
    idx[0][0] = 5000;
    writeNpy(dir + "/fc1.indices.npy", idx);
    QVERIFY(rejects("out of range"));
    // A truncated array.
    { std::ofstream(dir + "/fc1.indices.npy", std::ios::binary | std::ios::trunc) << "\x93NUMPY"; }
    QVERIFY(rejects("fc1.indices.npy"));
    { std::ofstream(dir + "/manifest.json", std::ios::trunc) << "{not json"; }
    QVERIFY(rejects("not valid JSON"));
    try {
        readCondensedClassifier(tmp.filePath("missing").toStdString());
        QFAIL("expected InferenceError");
    } catch (const InferenceError& e) {
        QVERIFY(QString(e.what()).contains("no manifest.json"));
    }
}

void TestCondensedInference::npyRoundTripKeepsTypesAndShapes() {
    guarded([] {
        QTemporaryDir tmp;
        const std::vector<torch::Tensor> tensors{torch::randn({3, 5}), torch::randn({7}).to(torch::kDouble),
                                                 torch::randint(-300, 300, {4, 2}).to(torch::kShort),
                                                 torch::randint(0, 1 << 20, {9}).to(torch::kInt),
                                                 torch::randint(0, 1000, {2, 3, 4}).to(torch::kLong),
                                                 torch::rand({6}) > 0.5, torch::zeros({0, 3})};
        for (size_t i = 0; i < tensors.size(); ++i) {
            const std::string path = tmp.filePath(QString("t%1.npy").arg(i)).toStdString();
            writeNpy(path, tensors[i]);
            // The header pads to a multiple of 64 bytes, as NumPy's readers expect.
            std::ifstream in(path, std::ios::binary);
            char head[10];
            in.read(head, 10);
            const size_t length = static_cast<unsigned char>(head[8]) | (static_cast<size_t>(static_cast<unsigned char>(head[9])) << 8);
            QCOMPARE((10 + length) % 64, size_t{0});
            const torch::Tensor back = readNpy(path);
            QCOMPARE(back.scalar_type(), tensors[i].scalar_type());
            QVERIFY(back.sizes().equals(tensors[i].sizes()));
            QVERIFY(back.equal(tensors[i]));
        }
    });
}

void TestCondensedInference::benchChecksEveryVariantBeforeTiming() {
    guarded([] {
        BenchSettings s;
        s.warmup = 1;
        s.minReps = 3;
        s.maxReps = 3;
        s.targetSeconds = 0.0;
        s.threads = 1;
        const MaskedLayer m = randomConstantFanInLayer(200, 64, 0.9, 0.25, 4);
        const LayerTiming t = benchLayer(m, 8, s);
        QCOMPARE(t.rows, int64_t{48});
        QCOMPARE(t.k, int64_t{20});
        QCOMPARE(t.reps, 3);
        QVERIFY(t.condensedError <= 1e-5 && t.structuredError <= 1e-5);
        QVERIFY(t.denseUs > 0 && t.structuredUs > 0 && t.condensedUs > 0);
        QVERIFY(t.csrNote.empty() ? (t.csrUs > 0 && t.csrError <= 1e-5) : std::isnan(t.csrUs));
        // A layer that is not constant fan-in is refused before anything is timed.
        MaskedLayer bad = m;
        bad.mask = m.mask.clone();
        bad.mask[0].fill_(true);
        QVERIFY_EXCEPTION_THROWN(benchLayer(bad, 1, s), InferenceError);
    });
}

void TestCondensedInference::benchRejectsUnknownDevice() {
    BenchSettings s;
    s.device = "tpu";
    const MaskedLayer m = randomConstantFanInLayer(20, 4, 0.5, 0.0, 1);
    try {
        benchLayer(m, 1, s);
        QFAIL("expected InferenceError");
    } catch (const InferenceError& e) {
        QVERIFY2(QString(e.what()).contains("unknown device 'tpu'"), e.what());
    }
}

QTEST_GUILESS_MAIN(TestCondensedInference)
#include "test_condensed_inference.moc"
