// `srigl convert` as a user runs it: a tiny trained run converted to N:M and transposable N:M, the
// JSON stages, the new run in the store (tags, metrics, checkpoint that `srigl export` reads), and
// clear errors that record nothing.
#include <QtTest>

#include "sessions/store/run_store.hpp"
#include "tests/support/srigl_process.hpp"

#include <QJsonArray>
#include <QTemporaryDir>

#include <algorithm>

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

SriglResult runCli(const QStringList& args) { return runSriglProcess(kSrigl, args); }

// A small recorded run (checkpointed, as every recorded run is); returns its id.
int64_t trainRecorded(const QString& db, const QString& method, const QString& sparsity, const QStringList& extra = {}) {
    const SriglResult r = runCli(QStringList{"train", "--json", "--db", db, "--set", "synthetic_train=1024", "--set",
                                             "synthetic_test=256", "--set", "hidden=48,24", "--set", "method=" + method, "--set",
                                             "sparsity=" + sparsity, "--set", "epochs=2", "--set", "batch_size=32", "--set",
                                             "delta_t=8", "--set", "threads=1"} +
                                 extra);
    if (r.exitCode != 0) qWarning("%s", qPrintable(r.err));
    return static_cast<int64_t>(lastJsonLine(r.out)["run_id"].toDouble());
}

bool hasTag(const std::vector<std::string>& tags, const std::string& tag) {
    return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

} // namespace

class TestCliConvert : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void convertsToNmAndRecordsTheRun();
    void convertsToTransposableNm();
    void errorsAreClearAndRecordNothing();
    void convertsFanInsThatAreNotAMultipleOfM();
    void convertsAndRefitsConvolutions();
    void refitsLargeRowsByConjugateGradient();
};

void TestCliConvert::convertsToNmAndRecordsTheRun() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t source = trainRecorded(db, "rigl", "0.5");
    QVERIFY(source > 0);
    const SriglResult r = runCli({"convert", QString::number(source), "--nm", "2:4", "--json", "--db", db,
                                 "--calibration-batches", "4", "--threads", "1"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject doc = lastJsonLine(r.out);
    QCOMPARE(doc["source_run"].toInt(), static_cast<int>(source));
    QCOMPARE(doc["nm"].toString(), QString("2:4"));
    QVERIFY(doc["nm_valid"].toBool());
    QCOMPARE(doc["calibration_samples"].toInt(), 4 * 32);
    const QJsonArray stages = doc["stages"].toArray();
    const QStringList names = {"original", "mask", "absorb", "reconstruct", "batch_norm"};
    QCOMPARE(stages.size(), names.size());
    for (int i = 0; i < stages.size(); ++i) {
        const QJsonObject s = stages[i].toObject();
        QCOMPARE(s["name"].toString(), names[i]);
        QVERIFY(s["masks_valid"].toBool());
        QVERIFY(s["test_accuracy"].toDouble() >= 0 && s["test_accuracy"].toDouble() <= 1);
    }
    QVERIFY(stages[3].toObject()["applied"].toBool());
    QVERIFY(!stages[4].toObject()["applied"].toBool()); // an MLP has no batch norm
    for (const auto& v : doc["layers"].toArray()) {
        const QJsonObject l = v.toObject();
        QVERIFY(l["converted"].toBool() && l["reconstructed"].toBool());
        QVERIFY(l["error_after"].toDouble() <= l["error_before"].toDouble() * (1 + 1e-9));
    }

    srigl::sessions::RunStore store(db.toStdString(), srigl::sessions::RunStore::Mode::ReadOnly);
    const auto sourceInfo = store.run(source);
    // Stage 0 evaluates the checkpoint on the same test split the run was evaluated on.
    QVERIFY(std::abs(stages[0].toObject()["test_accuracy"].toDouble() - sourceInfo.testAccuracy) < 1e-6);
    const int64_t converted = static_cast<int64_t>(doc["run_id"].toDouble());
    const auto info = store.run(converted);
    QVERIFY(info.status == srigl::sessions::RunStatus::Finished);
    QVERIFY(hasTag(info.tags, "converted-from:" + std::to_string(source)));
    QVERIFY(hasTag(info.tags, "nm:2:4"));
    QCOMPARE(info.method, std::string("nm_ste"));
    QVERIFY(std::abs(info.testAccuracy - stages[4].toObject()["test_accuracy"].toDouble()) < 1e-9);
    int stageMetrics = 0;
    for (const auto& m : store.metrics(converted))
        if (m.key.rfind("convert_", 0) == 0 && m.key.find("_accuracy") != std::string::npos) ++stageMetrics;
    QCOMPARE(stageMetrics, 5);
    QCOMPARE(store.masks(converted).size(), size_t{3});
    QVERIFY(store.lastCheckpoint(converted).has_value());

    // The converted checkpoint is a model like any other: export reads it.
    const SriglResult e = runCli({"export", QString::number(converted), "--condensed", tmp.filePath("out"), "--json", "--db", db});
    QVERIFY2(e.exitCode == 0, qPrintable(e.err));
    // N:M keeps M/N... every neuron keeps exactly half its inputs: k = in / 2 in every layer.
    for (const auto& v : lastJsonLine(e.out)["layers"].toArray()) {
        const QJsonObject l = v.toObject();
        QCOMPARE(l["k"].toInt() * 2, l["in_features"].toInt());
    }
}

void TestCliConvert::convertsToTransposableNm() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t source = trainRecorded(db, "dense", "0.0");
    QVERIFY(source > 0);
    const SriglResult r = runCli({"convert", QString::number(source), "--nm", "4:8", "--transposable", "--no-absorb",
                                 "--json", "--db", db, "--calibration-batches", "2", "--threads", "1"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject doc = lastJsonLine(r.out);
    QVERIFY(doc["nm_valid"].toBool());
    QVERIFY(doc["transposable"].toBool());
    QVERIFY(!doc["stages"].toArray()[2].toObject()["applied"].toBool());
    srigl::sessions::RunStore store(db.toStdString(), srigl::sessions::RunStore::Mode::ReadOnly);
    const auto info = store.run(static_cast<int64_t>(doc["run_id"].toDouble()));
    QVERIFY(hasTag(info.tags, "transposable"));
    QCOMPARE(info.method, std::string("nm_transposable"));

    // Without --json: a table of the stages on stdout, the progress bar on stderr.
    const SriglResult t = runCli({"convert", QString::number(source), "--nm", "2:4", "--db", db, "--calibration-batches", "1"});
    QVERIFY2(t.exitCode == 0, qPrintable(t.err));
    for (const char* stage : {"original", "mask", "absorb", "reconstruct", "batch_norm"}) QVERIFY2(t.out.contains(stage), stage);
    QVERIFY(t.out.contains("masks valid: yes"));
}

void TestCliConvert::errorsAreClearAndRecordNothing() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t source = trainRecorded(db, "srigl", "0.5");
    QVERIFY(source > 0);
    const auto runsBefore = srigl::sessions::RunStore(db.toStdString()).listRuns().size();
    struct Case {
        QStringList args;
        QString message;
    };
    int64_t noCheckpoint = 0;
    {
        srigl::sessions::RunStore store(db.toStdString());
        srigl::sessions::NewRun run;
        run.name = "never checkpointed";
        run.config = "{}";
        noCheckpoint = store.createRun(run);
    }
    const std::vector<Case> cases = {
        {{"convert", "999", "--nm", "2:4"}, "no run 999"},
        {{"convert", QString::number(noCheckpoint), "--nm", "2:4"}, "has no checkpoint"},
        {{"convert", QString::number(source), "--nm", "4:2"}, "nm"},
        {{"convert", QString::number(source), "--nm", "2:x"}, "nm"},
        {{"convert", QString::number(source), "--nm", "2:4", "--damping=-1"}, "damping"},
        {{"convert", QString::number(source), "--nm", "2:4", "--max-direct=-1"}, "max-direct"},
        {{"convert", QString::number(source), "--nm", "2:4", "--refit-iterations", "0"}, "refit-iterations"},
        {{"convert", QString::number(source), "--nm", "2:4", "--refit-tolerance=-1"}, "refit-tolerance"},
        {{"convert", QString::number(source), "--nm", "2:4", "--skip", "fc7"}, "no layer 'fc7'"},
        {{"convert", QString::number(source), "--nm", "2:4", "--calibration-batches", "0"}, "empty calibration set"},
        {{"convert", QString::number(source), "--nm", "2:4", "--batch-size", "100000"}, "larger than the 1024 training samples"},
    };
    for (const auto& c : cases) {
        QStringList args = c.args;
        args << "--db" << db;
        const SriglResult r = runCli(args);
        QVERIFY2(r.exitCode == 2, qPrintable(args.join(' ') + ": " + r.err));
        QVERIFY2(r.err.contains(c.message), qPrintable(args.join(' ') + ": " + r.err));
    }
    QCOMPARE(srigl::sessions::RunStore(db.toStdString()).listRuns().size(), runsBefore + 1); // only the run made above
}

void TestCliConvert::convertsFanInsThatAreNotAMultipleOfM() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t source = trainRecorded(db, "dense", "0.0");
    QVERIFY(source > 0);
    // 784, 48 and 24 inputs: none is a multiple of 5, so every layer ends in a padded group.
    const SriglResult r = runCli({"convert", QString::number(source), "--nm", "2:5", "--json", "--db", db,
                                 "--calibration-batches", "2", "--threads", "1"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject doc = lastJsonLine(r.out);
    QVERIFY(doc["nm_valid"].toBool());
    const QJsonArray layers = doc["layers"].toArray();
    QCOMPARE(layers.size(), 3);
    for (const auto& v : layers) {
        const QJsonObject l = v.toObject();
        QVERIFY(l["converted"].toBool() && l["reconstructed"].toBool());
        QVERIFY(l["error_after"].toDouble() <= l["error_before"].toDouble() * (1 + 1e-9));
    }
    for (const auto& v : doc["stages"].toArray()) QVERIFY(v.toObject()["masks_valid"].toBool());
}

void TestCliConvert::convertsAndRefitsConvolutions() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    // lr 0.01: at the default 0.1 this small LeNet-5 run ends with dead ReLUs (10% accuracy).
    const int64_t source = trainRecorded(db, "dense", "0.0", {"--set", "model=lenet5", "--set", "lr=0.01"});
    QVERIFY(source > 0);
    const SriglResult r = runCli({"convert", QString::number(source), "--nm", "2:4", "--json", "--db", db,
                                 "--calibration-batches", "2", "--threads", "1"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject doc = lastJsonLine(r.out);
    QVERIFY(doc["nm_valid"].toBool());
    QCOMPARE(doc["stages"].toArray()[3].toObject()["note"].toString(), QString("2 conv + 3 linear layers"));
    QStringList refit;
    for (const auto& v : doc["layers"].toArray()) {
        const QJsonObject l = v.toObject();
        QVERIFY(l["converted"].toBool());
        QVERIFY(l["error_after"].toDouble() <= l["error_before"].toDouble() * (1 + 1e-9));
        if (l["reconstructed"].toBool()) refit << l["name"].toString();
    }
    QCOMPARE(refit, QStringList({"conv1", "conv2", "fc1", "fc2", "fc3"}));
    // Refitting the convolutions too brings the logits closer to the original ones than the mask alone.
    const QJsonArray stages = doc["stages"].toArray();
    QVERIFY(stages[3].toObject()["logit_error"].toDouble() < stages[1].toObject()["logit_error"].toDouble());
}

void TestCliConvert::refitsLargeRowsByConjugateGradient() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t source = trainRecorded(db, "dense", "0.0");
    QVERIFY(source > 0);
    // fc1 keeps 392 of 784 inputs per row (+ bias), fc2 24 + 1, fc3 12 + 1.
    const SriglResult r = runCli({"convert", QString::number(source), "--nm", "2:4", "--json", "--db", db,
                                 "--calibration-batches", "2", "--threads", "1", "--max-direct", "100"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject doc = lastJsonLine(r.out);
    QVERIFY(doc["nm_valid"].toBool());
    QVERIFY2(doc["stages"].toArray()[3].toObject()["note"].toString().contains(
                 "conjugate gradient for rows keeping more than 100 inputs: fc1"),
             qPrintable(doc["stages"].toArray()[3].toObject()["note"].toString()));
    QStringList iterative;
    for (const auto& v : doc["layers"].toArray()) {
        const QJsonObject l = v.toObject();
        QVERIFY(l["converted"].toBool() && l["reconstructed"].toBool());
        QVERIFY(l["error_after"].toDouble() <= l["error_before"].toDouble() * (1 + 1e-9));
        if (l["iterative"].toBool()) {
            iterative << l["name"].toString();
            QVERIFY(l["error_after"].toDouble() < l["error_before"].toDouble());
        }
    }
    QCOMPARE(iterative, QStringList({"fc1"}));
}

QTEST_GUILESS_MAIN(TestCliConvert)
#include "test_cli_convert.moc"
