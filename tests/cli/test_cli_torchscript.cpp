// `srigl train --set model=torchscript` as a user runs it on a module PyTorch scripted
// (tests/support/torchscript_models.py): a recorded run that resumes, exports a module torch.jit.load
// runs with the engine's outputs, and bad modules refused with exit 2, the file named, nothing recorded.
#include <QtTest>

#include "sessions/store/run_store.hpp"
#include "tests/support/pytorch_check.hpp"
#include "tests/support/srigl_process.hpp"
#include "tests/support/torch_python.hpp"

#include <QDir>
#include <QJsonDocument>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

using namespace srigl::sessions;

namespace {

SriglResult runCli(const QStringList& args) { return runSriglProcess(QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl"), args); }

QStringList smallScriptedRun(const QString& db, const QString& module) {
    return {"train", "--json", "--db", db, "--set", "model=torchscript", "--set", "model_path=" + module,
            "--set", "synthetic_train=256", "--set", "synthetic_test=64", "--set", "batch_size=32", "--set",
            "delta_t=3", "--set", "threads=1", "--set", "dense_reference_steps=0", "--set", "checkpoint_every=4"};
}

} // namespace

class TestCliTorchscript : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void scriptedRunResumesAndExportsTheModule();
    void badModulesExitTwoAndRecordNothing();
    void exportScriptTurnsAPythonClassIntoATrainableModule();

private:
    QString fixtures();
    QTemporaryDir tmp_;
    QString fixtures_;
    bool looked_ = false;
};

QString TestCliTorchscript::fixtures() {
    if (!looked_) {
        fixtures_ = torchscriptFixtures(torchPython());
        looked_ = true;
    }
    return fixtures_;
}

void TestCliTorchscript::scriptedRunResumesAndExportsTheModule() {
    const QString dir = fixtures();
    SRIGL_REQUIRE_TORCH_PYTHON(dir);
    const QString db = tmp_.filePath("scripted.db");
    // A path with a detour: the run records the module file canonically, for resumes from anywhere.
    QStringList args = smallScriptedRun(db, dir + "/./cnn.pt");
    args << "--set" << "max_steps=5";
    const SriglResult first = runCli(args);
    QVERIFY2(first.exitCode == 0, qPrintable(first.err));
    const QString id = QString::number(lastJsonLine(first.out)["run_id"].toDouble());
    {
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        const auto config = nlohmann::json::parse(store.run(id.toLongLong()).config);
        QCOMPARE(QString::fromStdString(config.at("model_path").get<std::string>()), QDir(dir).canonicalPath() + "/cnn.pt");
        QCOMPARE(store.masks(id.toLongLong()).front().mask.name, std::string("conv1"));
    }
    const SriglResult resumed = runCli({"train", "--resume", id, "--json", "--db", db, "--set", "max_steps=8"});
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
    {
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QCOMPARE(store.lastCheckpoint(id.toLongLong())->first, int64_t{8});
    }

    const QString file = tmp_.filePath("scripted.pt");
    const SriglResult exported = runCli({"export", id, "--db", db, "--pytorch", file, "--json"});
    QVERIFY2(exported.exitCode == 0, qPrintable(exported.err));
    QCOMPARE(lastJsonLine(exported.out)["script"].toString(), tmp_.filePath("scripted.script.pt"));
    QString error;
    const QJsonObject doc = checkInPyTorch(torchPython(), file, error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(doc["model"].toString(), QStringLiteral("torchscript"));
    QVERIFY2(doc["max_rel_error"].toDouble() <= 1e-5, qPrintable(QJsonDocument(doc).toJson()));
    QCOMPARE(doc["kept"].toObject().size(), 3);
}

void TestCliTorchscript::badModulesExitTwoAndRecordNothing() {
    const QString dir = fixtures();
    SRIGL_REQUIRE_TORCH_PYTHON(dir);
    const QString db = tmp_.filePath("bad.db");
    const struct {
        const char* file;
        const char* says;
    } cases[] = {{"state_dict.pt", "is not a TorchScript module"},
                 {"truncated.pt", "is not a TorchScript module"},
                 {"no_layers.pt", "has no Linear or Conv2d layer"},
                 {"cifar_mlp.pt", "does not take the dataset's input [2, 1, 28, 28]"},
                 {"missing.pt", "no such file"}};
    for (const auto& c : cases) {
        const QString module = dir + "/" + c.file;
        const SriglResult r = runCli(smallScriptedRun(db, module));
        QVERIFY2(r.exitCode == 2, qPrintable(QString(c.file) + ": " + r.err));
        QVERIFY2(r.err.contains(module) && r.err.contains(c.says), qPrintable(r.err));
    }
    QStringList patterned = smallScriptedRun(db, dir + "/custom.pt");
    patterned << "--set" << "sparse_layers=proj,typo";
    const SriglResult r = runCli(patterned);
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("sparse_layers") && r.err.contains("'typo'"), qPrintable(r.err));
    if (QFile::exists(db)) {
        RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
        QCOMPARE(store.listRuns().size(), size_t{0});
    }
}

// docs/your_model.md's walk: a Python class, scripts/export_torchscript.py, a recorded SRigL run.
void TestCliTorchscript::exportScriptTurnsAPythonClassIntoATrainableModule() {
    const QString python = torchPython();
    SRIGL_REQUIRE_TORCH_PYTHON(python);
    const QString source = tmp_.filePath("my_net.py");
    QFile file(source);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("import torch\nfrom torch import nn\n\n"
               "class Net(nn.Module):\n"
               "    def __init__(self, width=16):\n"
               "        super().__init__()\n"
               "        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))\n"
               "        self.head = nn.Linear(4 * 14 * 14, width)\n"
               "        self.out = nn.Linear(width, 10)\n\n"
               "    def forward(self, x):\n"
               "        return self.out(torch.relu(self.head(self.body(x).flatten(1))))\n");
    file.close();
    const QString module = tmp_.filePath("my_net.pt");
    const QString script = QStringLiteral(QT_TESTCASE_SOURCEDIR "/../scripts/export_torchscript.py");
    QString error = runPython(python, {script, source + ":Net", module, "--arg", "width=24"});
    QVERIFY2(error.isEmpty(), qPrintable(error));
    // The wrong input shape is refused by the script before anything is written.
    error = runPython(python, {script, source + ":Net", tmp_.filePath("cifar.pt"), "--input", "3,32,32"});
    QVERIFY2(error.contains("does not take input [2, 3, 32, 32]"), qPrintable(error));
    QVERIFY(!QFile::exists(tmp_.filePath("cifar.pt")));

    const QString db = tmp_.filePath("walk.db");
    QStringList args = smallScriptedRun(db, module);
    args << "--set" << "max_steps=4";
    const SriglResult r = runCli(args);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    const auto masks = store.masks(static_cast<int64_t>(lastJsonLine(r.out)["run_id"].toDouble()));
    QVERIFY(!masks.empty());
    QCOMPARE(masks[0].mask.name, std::string("body.0"));
    QCOMPARE(masks[1].mask.name, std::string("head"));
    QCOMPARE(masks[1].mask.fanIn, int64_t{784});
}

QTEST_GUILESS_MAIN(TestCliTorchscript)
#include "test_cli_torchscript.moc"
