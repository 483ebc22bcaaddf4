// `srigl train` as a user runs it: JSON events and summary, exit codes, clear messages.
#include <QtTest>
#include <QTemporaryDir>

#include "tests/support/srigl_process.hpp"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

using Result = SriglResult;
Result runSrigl(const QStringList& args, int timeoutMs = 300000) { return runSriglProcess(kSrigl, args, timeoutMs); }

QStringList small() {
    return {"train", "--json", "--set", "synthetic_train=1024", "--set", "synthetic_test=256", "--set", "epochs=1",
            "--set", "batch_size=64", "--set", "delta_t=4", "--set", "threads=1"};
}

QJsonObject lastJson(const QString& out) { return lastJsonLine(out); }

} // namespace

class TestCliTrain : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void jsonSummaryHasContractKeys();
    void everyLineIsJson();
    void summaryComparesWithDenseTwin();
    void denseTwinOffByKey();
    void helpListsEveryKey();
    void badSparsityExitsTwo();
    void unknownKeyExitsTwo();
    void missingDataExitsTwo();
    void divergenceExitsThree();
    void resumeContinuesFromCheckpoint();
};

void TestCliTrain::jsonSummaryHasContractKeys() {
    Result r = runSrigl(small());
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QJsonObject s = lastJson(r.out);
    QCOMPARE(s["event"].toString(), QString("summary"));
    for (const char* key : {"test_accuracy", "train_loss", "steps", "seconds", "update_seconds", "layers"})
        QVERIFY2(s.contains(key), key);
    QCOMPARE(s["steps"].toInt(), 16);
    const auto layers = s["layers"].toArray();
    QCOMPARE(layers.size(), 3);
    for (const auto& v : layers) {
        const auto l = v.toObject();
        for (const char* key : {"name", "shape", "sparsity", "fan_in_min", "fan_in_max", "active", "ablated"})
            QVERIFY2(l.contains(key), key);
        // SRigL: constant fan-in over active neurons.
        QCOMPARE(l["fan_in_min"].toInt(), l["fan_in_max"].toInt());
    }
}

void TestCliTrain::everyLineIsJson() {
    Result r = runSrigl(small());
    QCOMPARE(r.exitCode, 0);
    QStringList events;
    for (const auto& line : r.out.trimmed().split('\n')) {
        QJsonParseError err;
        auto doc = QJsonDocument::fromJson(line.toUtf8(), &err);
        QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(line));
        events << doc.object()["event"].toString();
    }
    QVERIFY(events.contains("start"));
    QVERIFY(events.contains("step"));
    QVERIFY(events.contains("mask_update"));
    QVERIFY(events.contains("eval"));
    QCOMPARE(events.last(), QString("summary"));
}

// dense_reference_steps (default 3): the dense twin's step time in the events and the summary.
void TestCliTrain::summaryComparesWithDenseTwin() {
    Result r = runSrigl(small());
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QJsonObject reference;
    for (const auto& line : r.out.trimmed().split('\n')) {
        const QJsonObject o = QJsonDocument::fromJson(line.toUtf8()).object();
        if (o["event"].toString() == "dense_reference") reference = o;
    }
    QVERIFY2(!reference.isEmpty(), qPrintable(r.out));
    QVERIFY(reference["measured"].toBool());
    QCOMPARE(reference["steps"].toInt(), 3);
    QVERIFY(reference["step_ms"].toDouble() > 0);
    const QJsonObject s = lastJson(r.out);
    QVERIFY(s["step_ms"].toDouble() > 0);
    QCOMPARE(s["timed_steps"].toInt(), 16 - 1 - s["updates"].toInt()); // the first step warms up
    QCOMPARE(s["dense_step_ms"].toDouble(), reference["step_ms"].toDouble());
    QVERIFY(s["speedup_vs_dense"].toDouble() > 0);
    QVERIFY(s["dense_reference"].toObject()["measured"].toBool());

    // The plain summary says it in one line.
    QStringList plain = small();
    plain.removeAll("--json");
    plain << "--no-db";
    r = runSrigl(plain);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QRegularExpression line(R"(step \d+\.\d+ ms, dense twin \d+\.\d+ ms: \d+\.\d\dx)");
    QVERIFY2(line.match(r.out).hasMatch(), qPrintable(r.out));
}

void TestCliTrain::denseTwinOffByKey() {
    QStringList args = small();
    args << "--set" << "dense_reference_steps=0";
    const Result r = runSrigl(args);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QVERIFY(!r.out.contains("\"dense_reference\",")); // no such event
    const QJsonObject s = lastJson(r.out);
    QVERIFY(s["dense_step_ms"].isNull());
    QVERIFY(s["speedup_vs_dense"].isNull());
    QVERIFY(!s["dense_reference"].toObject()["measured"].toBool());
    QVERIFY(s["step_ms"].toDouble() > 0);
}

void TestCliTrain::helpListsEveryKey() {
    Result r = runSrigl({"train", "--help"});
    QCOMPARE(r.exitCode, 0);
    for (const char* key : {"model", "dataset", "data_dir", "method", "sparsity", "distribution", "gamma_sal",
                            "delta_t", "alpha", "t_end", "epochs", "max_steps", "batch_size", "optimizer", "lr",
                            "weight_decay", "momentum", "seed", "device", "threads", "dense_reference_steps"})
        QVERIFY2(r.out.contains(QString("  %1 ").arg(key)), key);
    QVERIFY(r.out.contains("default"));
}

void TestCliTrain::badSparsityExitsTwo() {
    Result r = runSrigl({"train", "--set", "sparsity=1.5"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("sparsity"), qPrintable(r.err));
    QVERIFY(r.out.isEmpty());
}

void TestCliTrain::unknownKeyExitsTwo() {
    Result r = runSrigl({"train", "--set", "sparsty=0.5"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("sparsty"), qPrintable(r.err));
}

void TestCliTrain::missingDataExitsTwo() {
    QTemporaryDir dir;
    Result r = runSrigl({"train", "--set", "dataset=mnist", "--set", "data_dir=" + dir.path()});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("train-images-idx3-ubyte"), qPrintable(r.err));
}

void TestCliTrain::divergenceExitsThree() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.db");
    QStringList args = small();
    args << "--db" << db << "--set" << "lr=1e25" << "--set" << "momentum=0";
    Result r = runSrigl(args);
    QCOMPARE(r.exitCode, 3);
    QCOMPARE(lastJson(r.out)["status"].toString(), QString("diverged"));
    QVERIFY2(r.err.contains("loss became"), qPrintable(r.err));
    // The run says why it failed where `runs show` and the Studio read it (it used to be empty).
    Result shown = runSrigl({"runs", "--db", db, "show", "1"});
    QVERIFY2(shown.exitCode == 0, qPrintable(shown.err));
    const QJsonObject run = QJsonDocument::fromJson(shown.out.toUtf8()).object();
    QCOMPARE(run["status"].toString(), QString("failed"));
    QVERIFY2(run["error"].toString().contains("loss became"), qPrintable(shown.out));
}

void TestCliTrain::resumeContinuesFromCheckpoint() {
    QTemporaryDir dir;
    const QString ckpt = dir.filePath("run.ckpt");
    QStringList args = small();
    args << "--set" << "max_steps=8" << "--set" << ("checkpoint=" + ckpt);
    Result first = runSrigl(args);
    QVERIFY2(first.exitCode == 0, qPrintable(first.err));
    QVERIFY(QFile::exists(ckpt));
    Result second = runSrigl({"train", "--json", "--resume", ckpt, "--set", "max_steps=12"});
    QVERIFY2(second.exitCode == 0, qPrintable(second.err));
    QCOMPARE(lastJson(second.out)["steps"].toInt(), 12);
    Result missing = runSrigl({"train", "--resume", dir.filePath("nope.ckpt")});
    QCOMPARE(missing.exitCode, 2);
    QVERIFY(missing.err.contains("nope.ckpt"));
}

QTEST_GUILESS_MAIN(TestCliTrain)
#include "test_cli_train.moc"
