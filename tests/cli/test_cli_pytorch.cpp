// `srigl import` and `srigl export --pytorch` as a user runs them: PyTorch checkpoints (written by
// PyTorch itself, tests/support/pytorch_checkpoints.py) recorded as one run per training with the
// right SAD between snapshots, every bad input refused with exit 2 and nothing recorded, an export
// that torch.load reads and computes the engine's outputs with, and benches of an imported run.
#include <QtTest>

#include "sessions/store/run_store.hpp"
#include "tests/support/pytorch_check.hpp"
#include "tests/support/srigl_process.hpp"
#include "tests/support/torch_python.hpp"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace srigl::sessions;

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

SriglResult runCli(const QStringList& args) { return runSriglProcess(kSrigl, args); }

// Every run the database holds; none when the file was never created.
std::vector<RunInfo> runsIn(const QString& db) {
    if (!QFile::exists(db)) return {};
    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    return store.listRuns();
}

bool hasTag(const RunInfo& run, const std::string& tag) {
    return std::find(run.tags.begin(), run.tags.end(), tag) != run.tags.end();
}

} // namespace

class TestCliPytorch : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void importRecordsOneImportedRun();
    void checkpointsOfOneTrainingImportAsOneRunWithSad();
    void filesThatAreNoCheckpointExitTwoAndRecordNothing();
    void badCheckpointsExitTwoAndRecordNothing();
    void importedRunBenchesItsConstantFanInLayers();
    void exportIsReadByTorchLoadWithTheEngineOutputs();
    void lenet5ExportComputesTheEngineOutputsInPyTorch();
    void resnet18ExportComputesTheEngineOutputsInPyTorch();
    void studyScriptsReadCondensedCheckpoints();

private:
    // The fixtures' folder; empty when there is no python3 with torch.
    QString fixtures();
    // A few training steps of `model` (with these config settings), exported and checked in PyTorch.
    void checkExportInPyTorch(const QString& model, const QStringList& sizes, int sparseLayers);

    QTemporaryDir tmp_;
    QString fixtures_;
    bool looked_ = false;
};

QString TestCliPytorch::fixtures() {
    if (!looked_) {
        fixtures_ = pytorchFixtures(torchPython());
        looked_ = true;
    }
    return fixtures_;
}

void TestCliPytorch::importRecordsOneImportedRun() {
    const QString dir = fixtures();
    SRIGL_REQUIRE_TORCH_PYTHON(dir);
    const QString db = tmp_.filePath("one.db");
    const QString file = dir + "/masked.pt";
    const SriglResult r = runCli({"import", file, "--db", db, "--json", "--name", "mine"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject doc = lastJsonLine(r.out);
    const int64_t id = static_cast<int64_t>(doc["run_id"].toDouble());
    QCOMPARE(doc["status"].toString(), QString("imported"));
    const QJsonArray layers = doc["snapshots"].toArray()[0].toObject()["layers"].toArray();
    QCOMPARE(layers.size(), 3);
    QCOMPARE(layers[0].toObject()["mask_source"].toString(), QString("fc1.mask"));

    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    const RunInfo run = store.run(id);
    QVERIFY(run.status == RunStatus::Imported);
    QCOMPARE(run.name, std::string("mine"));
    QCOMPARE(run.method, std::string("imported"));
    QVERIFY(hasTag(run, "imported"));
    QVERIFY(hasTag(run, "source:masked.pt"));
    QVERIFY2(run.notes.find(QFileInfo(file).absoluteFilePath().toStdString()) != std::string::npos, run.notes.c_str());
    QVERIFY(!RunStore::isLive(run));
    // One snapshot per layer, with the statistics, weight statistics and active weights the Studio reads.
    const auto masks = store.masks(id);
    QCOMPARE(masks.size(), size_t{3});
    QCOMPARE(masks[0].mask.name, std::string("fc1"));
    QCOMPARE(masks[0].stats.k, int64_t{4});
    QCOMPARE(masks[0].stats.ablated, int64_t{1});
    QCOMPARE(masks[0].mask.ablated, (std::vector<int64_t>{5}));
    QCOMPARE(masks[2].mask.fanIn, int64_t{18}); // the conv as [out, in * kh * kw]
    const auto values = store.weightValues(id, "fc1");
    QCOMPARE(values.size(), size_t{1});
    QCOMPARE(values[0].values.size(), size_t{20}); // 5 active neurons x 4 inputs
    const auto stats = store.weightStats(id, "fc2");
    QCOMPARE(stats.size(), size_t{1});
    QCOMPARE(stats[0].stats.count, int64_t{6});
    // It has no model of the engine's to export; and an export never replaces a file without --force.
    SriglResult refused = runCli({"export", QString::number(id), "--db", db, "--pytorch", tmp_.filePath("x.pt")});
    QCOMPARE(refused.exitCode, 2);
    QVERIFY2(refused.err.contains("imported run"), qPrintable(refused.err));
    refused = runCli({"export", QString::number(id), "--db", db, "--pytorch", file});
    QCOMPARE(refused.exitCode, 2);
    QVERIFY2(refused.err.contains("exists; --force"), qPrintable(refused.err));
    QVERIFY(QFileInfo(file).size() > 0); // the checkpoint is still there
}

void TestCliPytorch::checkpointsOfOneTrainingImportAsOneRunWithSad() {
    const QString dir = fixtures();
    SRIGL_REQUIRE_TORCH_PYTHON(dir);
    const QString db = tmp_.filePath("steps.db");
    // Given out of order: the steps in the names order them.
    const SriglResult r = runCli({"import", dir + "/step_300.pt", dir + "/step_100.pt", dir + "/step_200.pt", "--db", db,
                                  "--json"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const int64_t id = static_cast<int64_t>(lastJsonLine(r.out)["run_id"].toDouble());
    QCOMPARE(runsIn(db).size(), size_t{1});
    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    QCOMPARE(store.maskSteps(id), (std::vector<int64_t>{100, 200, 300}));
    QCOMPARE(store.run(id).steps, int64_t{300});
    // By construction: step 200 moves one input of fc1's rows 0, 1 and 2 (3 pruned + 3 regrown =
    // SAD 6) and leaves fc2; step 300 moves one input of fc2's row 2 (SAD 2) and leaves fc1.
    struct Expect {
        int64_t step;
        const char* layer;
        int64_t pruned, regrown, sad;
    };
    const Expect expected[] = {{100, "fc1", 0, 0, 0}, {100, "fc2", 0, 0, 0}, {200, "fc1", 3, 3, 6},
                               {200, "fc2", 0, 0, 0}, {300, "fc1", 0, 0, 0}, {300, "fc2", 1, 1, 2}};
    const auto stats = store.maskStats(id);
    QCOMPARE(stats.size(), size_t{6});
    for (const auto& e : expected) {
        const auto it = std::find_if(stats.begin(), stats.end(), [&](const MaskStatsRecord& s) {
            return s.step == e.step && s.stats.name == e.layer;
        });
        QVERIFY2(it != stats.end(), e.layer);
        QCOMPARE(it->stats.pruned, e.pruned);
        QCOMPARE(it->stats.regrown, e.regrown);
        QCOMPARE(it->stats.sad, e.sad);
    }
    QCOMPARE(store.weightValues(id, "fc2").size(), size_t{3}); // a weight snapshot per file
}

namespace {

struct BadImport {
    QStringList files;
    QString named; // the file the message must name
    const char* words;
};

// Each import exits 2 with the file and the reason in its message, and the database holds no run.
void expectRefused(const std::vector<BadImport>& cases, const QString& db) {
    for (const auto& c : cases) {
        const SriglResult r = runCli(QStringList{"import"} + c.files + QStringList{"--db", db});
        QVERIFY2(r.exitCode == 2, qPrintable(c.named + ": " + QString::number(r.exitCode) + " " + r.err));
        QVERIFY2(r.err.contains(c.named + ":") && r.err.contains(c.words), qPrintable(r.err));
        QCOMPARE(runsIn(db).size(), size_t{0});
    }
}

} // namespace

void TestCliPytorch::filesThatAreNoCheckpointExitTwoAndRecordNothing() {
    const QString dir = fixtures();
    SRIGL_REQUIRE_TORCH_PYTHON(dir);
    {
        QFile whole(dir + "/plain.pt");
        QVERIFY(whole.open(QIODevice::ReadOnly));
        const QByteArray bytes = whole.readAll();
        QFile cut(tmp_.filePath("truncated.pt"));
        QVERIFY(cut.open(QIODevice::WriteOnly));
        cut.write(bytes.left(bytes.size() - 200));
        QFile text(tmp_.filePath("notes.pt"));
        QVERIFY(text.open(QIODevice::WriteOnly));
        text.write("not a checkpoint\n");
    }
    QDir(tmp_.path()).mkdir("a_folder.pt");
    expectRefused({{{tmp_.filePath("a_folder.pt")}, tmp_.filePath("a_folder.pt"), "is a folder"},
                   {{tmp_.filePath("notes.pt")}, tmp_.filePath("notes.pt"), "not a zip archive"},
                   {{tmp_.filePath("truncated.pt")}, tmp_.filePath("truncated.pt"), "truncated zip"},
                   {{dir + "/legacy.pt"}, dir + "/legacy.pt", "legacy torch.save"}},
                  tmp_.filePath("files.db"));
}

void TestCliPytorch::badCheckpointsExitTwoAndRecordNothing() {
    const QString dir = fixtures();
    SRIGL_REQUIRE_TORCH_PYTHON(dir);
    expectRefused({{{dir + "/unknown_class.pt"}, dir + "/unknown_class.pt", "__main__.Config"},
                   {{dir + "/no_layers.pt"}, dir + "/no_layers.pt", "no Linear or Conv2d weight"},
                   {{dir + "/mask_shape.pt"}, dir + "/mask_shape.pt", "fc1.mask has shape [6, 11]"},
                   // A good file first does not leave half a run behind.
                   {{dir + "/step_100.pt", dir + "/mask_shape.pt"}, dir + "/mask_shape.pt", "fc1.mask has shape"},
                   // Checkpoints of two different models are not one training.
                   {{dir + "/step_100.pt", dir + "/masked.pt"}, dir + "/masked.pt", "are not those of"}},
                  tmp_.filePath("contents.db"));
}

void TestCliPytorch::importedRunBenchesItsConstantFanInLayers() {
    const QString dir = fixtures();
    SRIGL_REQUIRE_TORCH_PYTHON(dir);
    const QString db = tmp_.filePath("bench.db");
    const SriglResult imported = runCli({"import", dir + "/plain.pt", "--db", db, "--json"});
    QVERIFY2(imported.exitCode == 0, qPrintable(imported.err));
    const QString id = QString::number(lastJsonLine(imported.out)["run_id"].toDouble());
    const SriglResult r = runCli({"bench", "--run", id, "--db", db, "--batch", "1", "--seconds", "0", "--threads", "1",
                                  "--json"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonArray results = lastJsonLine(r.out)["results"].toArray();
    QCOMPARE(results.size(), 1); // fc1 (constant fan-in 4); fc2 is not constant fan-in
    QCOMPARE(results[0].toObject()["layer"].toString(), QString("fc1"));
    QVERIFY2(r.err.contains("skipped fc2: not constant fan-in"), qPrintable(r.err));
    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    QCOMPARE(store.timings(static_cast<int64_t>(id.toLongLong())).size(), size_t{1});
}

void TestCliPytorch::exportIsReadByTorchLoadWithTheEngineOutputs() {
    const QString python = torchPython();
    SRIGL_REQUIRE_TORCH_PYTHON(python);
    const QString db = tmp_.filePath("export.db");
    const SriglResult trained = runCli({"train", "--json", "--db", db, "--set", "synthetic_train=256", "--set",
                                        "synthetic_test=64", "--set", "hidden=24,12", "--set", "sparsity=0.8", "--set",
                                        "epochs=1", "--set", "batch_size=64", "--set", "delta_t=2", "--set", "threads=1",
                                        "--set", "dense_reference_steps=0"});
    QVERIFY2(trained.exitCode == 0, qPrintable(trained.err));
    const int64_t id = static_cast<int64_t>(lastJsonLine(trained.out)["run_id"].toDouble());
    const QString file = tmp_.filePath("model.pt");
    const SriglResult exported = runCli({"export", QString::number(id), "--db", db, "--pytorch", file, "--json"});
    QVERIFY2(exported.exitCode == 0, qPrintable(exported.err));
    QCOMPARE(lastJsonLine(exported.out)["check"].toString(), tmp_.filePath("model.check.pt"));

    // PyTorch alone (no SRigL code): torch.load, the MLP built in torch.nn, the engine's outputs.
    QString error;
    const QJsonObject doc = checkInPyTorch(python, file, error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY2(doc["max_rel_error"].toDouble() <= 1e-5, qPrintable(QJsonDocument(doc).toJson()));
    QCOMPARE(doc["sizes"].toArray(), (QJsonArray{784, 24, 12, 10}));
    // The masks Python read are the run's last ones, layer by layer.
    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    const auto steps = store.maskSteps(id);
    for (const auto& m : store.masks(id)) {
        if (m.step != steps.back()) continue;
        const int64_t kept = static_cast<int64_t>(std::llround((1.0 - m.stats.sparsity) * m.mask.outFeatures * m.mask.fanIn));
        QCOMPARE(static_cast<int64_t>(doc["kept"].toObject()[QString::fromStdString(m.mask.name)].toDouble()), kept);
    }
    // An export imports back as a run with the same masks.
    const SriglResult back = runCli({"import", file, "--db", db, "--json"});
    QVERIFY2(back.exitCode == 0, qPrintable(back.err));
    const int64_t backId = static_cast<int64_t>(lastJsonLine(back.out)["run_id"].toDouble());
    for (const auto& m : store.masks(backId)) {
        const auto original = store.masksAtOrBefore(id, m.mask.name, steps.back(), 1);
        QCOMPARE(original.size(), size_t{1});
        QVERIFY2(original[0].mask.bits == m.mask.bits, m.mask.name.c_str());
    }
}

// Trains a few steps of a built-in model into a checkpoint, exports it, and has PyTorch rebuild the
// model from the exported state_dict and compute the engine's outputs (scripts/check_pytorch_export.py).
void TestCliPytorch::checkExportInPyTorch(const QString& model, const QStringList& sizes, int sparseLayers) {
    const QString python = torchPython();
    SRIGL_REQUIRE_TORCH_PYTHON(python);
    const QString checkpoint = tmp_.filePath(model + ".ckpt");
    QStringList args = {"train", "--no-db", "--set", "model=" + model, "--set", "threads=1",
                        "--set", "dense_reference_steps=0", "--set", "checkpoint=" + checkpoint};
    for (const QString& s : sizes) args << "--set" << s;
    const SriglResult trained = runCli(args);
    QVERIFY2(trained.exitCode == 0, qPrintable(trained.err));
    const QString file = tmp_.filePath(model + ".pt");
    const SriglResult exported = runCli({"export", checkpoint, "--pytorch", file});
    QVERIFY2(exported.exitCode == 0, qPrintable(exported.err));
    QString error;
    const QJsonObject doc = checkInPyTorch(python, file, error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(doc["model"].toString(), model);
    QVERIFY2(doc["max_rel_error"].toDouble() <= 1e-5, qPrintable(QJsonDocument(doc).toJson()));
    QCOMPARE(doc["kept"].toObject().size(), sparseLayers);
}

// LeNet-5 (convolutions trained condensed through the direct kernels): PyTorch's Conv2d, max-pool
// and Linear on the exported weights give the engine's outputs.
void TestCliPytorch::lenet5ExportComputesTheEngineOutputsInPyTorch() {
    checkExportInPyTorch("lenet5",
                         {"synthetic_train=256", "synthetic_test=64", "max_steps=6", "batch_size=32", "delta_t=3"}, 5);
}

// ResNet-18 (batch norm in eval mode, strided shortcuts): PyTorch's modules on the exported state_dict.
void TestCliPytorch::resnet18ExportComputesTheEngineOutputsInPyTorch() {
    checkExportInPyTorch("resnet18",
                         {"synthetic_train=64", "synthetic_test=16", "max_steps=3", "batch_size=8", "delta_t=2"}, 21);
}

// A run trained condensed checkpoints its layers as values and indices: the study scripts
// (scripts/summarize_study_99.py's read_checkpoint, which plot_fanin_histograms.py uses too) expand
// them to the masks and weights a masked-dense run of the same seed checkpoints, convolutions included.
void TestCliPytorch::studyScriptsReadCondensedCheckpoints() {
    const QString python = torchPython();
    SRIGL_REQUIRE_TORCH_PYTHON(python);
    const QStringList models[] = {
        {"model=mlp", "hidden=60,30", "sparsity=0.99", "gamma_sal=0.9", "synthetic_train=512", "max_steps=40", "delta_t=10"},
        {"model=lenet5", "sparsity=0.9", "synthetic_train=256", "max_steps=6", "batch_size=32", "delta_t=3"}};
    for (const QStringList& sizes : models) {
        QStringList files;
        for (const QString compute : {"condensed", "masked_dense"}) {
            files << tmp_.filePath(sizes[0].mid(6) + "-" + compute + ".ckpt");
            QStringList args = {"train", "--no-db", "-q", "--set", "sparse_compute=" + compute, "--set", "threads=1",
                                "--set", "dense_reference_steps=0", "--set", "synthetic_test=64", "--set",
                                "checkpoint=" + files.back()};
            for (const QString& s : sizes) args << "--set" << s;
            const SriglResult trained = runCli(args);
            QVERIFY2(trained.exitCode == 0, qPrintable(trained.err));
        }
        const QString code = QStringLiteral(
            "import sys, json, torch\n"
            "sys.path.insert(0, sys.argv[1])\n"
            "import summarize_study_99 as s\n"
            "held, expand = [], s.expand_condensed\n"
            "s.expand_condensed = lambda st: (held.append(any(k.startswith('condensed.') for k in st)), expand(st))[1]\n"
            "a, b = s.read_checkpoint(sys.argv[2]), s.read_checkpoint(sys.argv[3])\n"
            "assert held == [True, False], held\n"
            "layers = [k[6:-5] for k in b if k.startswith('model.') and k.endswith('.mask')]\n"
            "assert [k[6:-5] for k in a if k.startswith('model.') and k.endswith('.mask')] == layers, list(a)\n"
            "assert not any(k.startswith('condensed.') for k in a)\n"
            "for n in layers:\n"
            "    ma, mb = a['model.' + n + '.mask'].bool(), b['model.' + n + '.mask'].bool()\n"
            "    assert ma.shape == mb.shape and torch.equal(ma, mb), n\n"
            "    wa, wb = a['model.' + n + '.weight'], b['model.' + n + '.weight']\n"
            "    assert wa.shape == wb.shape and float((wa - wb).abs().max()) <= 1e-3 * float(wb.abs().max()), n\n"
            "    assert float(wa[~ma].abs().sum()) == 0.0, n\n"
            "assert s.mask_stats(sys.argv[2]) == s.mask_stats(sys.argv[3])\n"
            "print(len(layers))\n");
        QProcess p;
        p.start(python, {"-c", code, QStringLiteral(QT_TESTCASE_SOURCEDIR "/../scripts"), files[0], files[1]});
        QVERIFY(p.waitForFinished(120000));
        const QString out = QString::fromUtf8(p.readAllStandardOutput()).trimmed();
        QVERIFY2(p.exitCode() == 0, qPrintable(out + QString::fromUtf8(p.readAllStandardError())));
        QCOMPARE(out, sizes[0] == "model=mlp" ? QString("3") : QString("5"));
    }
}

QTEST_GUILESS_MAIN(TestCliPytorch)
#include "test_cli_pytorch.moc"
