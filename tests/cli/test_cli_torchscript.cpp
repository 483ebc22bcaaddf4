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

QTEST_GUILESS_MAIN(TestCliTorchscript)
#include "test_cli_torchscript.moc"
