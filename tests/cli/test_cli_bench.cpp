// `srigl bench` and `srigl export` as a user runs them: the JSON contract, timings stored in the
// database, benches of a recorded run, an export that PyTorch reads, and clear errors.
#include <QtTest>

#include "sessions/store/run_store.hpp"
#include "tests/support/srigl_process.hpp"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>

#include <filesystem>
#include <fstream>

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");
const QString kCheckScript = QStringLiteral(QT_TESTCASE_SOURCEDIR "/../scripts/check_condensed_export.py");

SriglResult runCli(const QStringList& args) { return runSriglProcess(kSrigl, args); }

// A small recorded run; returns its id.
int64_t trainRecorded(const QString& db, const QString& method) {
    const SriglResult r = runCli({"train", "--json", "--db", db, "--set", "synthetic_train=512", "--set",
                                 "synthetic_test=128", "--set", "hidden=48,24", "--set", "method=" + method, "--set",
                                 "sparsity=0.9", "--set", "epochs=1", "--set", "batch_size=32", "--set", "delta_t=4",
                                 "--set", "threads=1"});
    if (r.exitCode != 0) qWarning("%s", qPrintable(r.err));
    return static_cast<int64_t>(lastJsonLine(r.out)["run_id"].toDouble());
}

// The layer rows of `srigl bench --training --conv CONV --out OUT` at 50% over BATCHES; none (with the
// error logged) when the bench fails, e.g. because the kernels disagreed with LibTorch (exit 2).
QJsonArray convBenchRows(const QString& conv, const QString& out, const QString& batches) {
    const SriglResult r = runCli({"bench", "--training", "--conv", conv, "--out", out, "--sparsity", "0.5", "--batch",
                                 batches, "--seconds", "0", "--threads", "2", "--json", "--no-db"});
    if (r.exitCode != 0) {
        qWarning("exit %d: %s", r.exitCode, qPrintable(r.err));
        return {};
    }
    return lastJsonLine(r.out)["layers"].toArray();
}

} // namespace

class TestCliBench : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void jsonHasContractKeysAndIsStored();
    void benchOfRecordedRunTimesLayersAndModel();
    void runThatIsNotConstantFanInIsRefused();
    void cudaWithoutCudaExitsTwo();
    void exportIsReadByPytorch();
    void exportErrorsAreClear();
    void exportForceReplacesOnlyAnEarlierExport();
    void exportForceWorksWithoutRenameExchange();
    void trainingBenchTimesLayersAndModels();
    void trainingBenchRefusesWhatItCannotTime();
    void trainingBenchPrintsPeakRss();
    void trainingBenchTimesAConvolution();
    void trainingBenchTimesAStridedConvolution();
};

void TestCliBench::jsonHasContractKeysAndIsStored() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const SriglResult r = runCli({"bench", "--in", "300", "--out", "64", "--sparsity", "0.9,0.5", "--batch", "1,5",
                                 "--seconds", "0", "--threads", "1", "--json", "--db", db});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject doc = lastJsonLine(r.out);
    const QJsonArray results = doc["results"].toArray();
    QCOMPARE(results.size(), 4);
    for (const auto& v : results) {
        const QJsonObject o = v.toObject();
        for (const char* key : {"device", "batch", "sparsity", "dense_us", "csr_us", "structured_us", "condensed_us",
                                "speedup_vs_dense", "speedup_vs_csr"})
            QVERIFY2(o.contains(key), key);
        QCOMPARE(o["device"].toString(), QString("cpu"));
        QVERIFY(o["condensed_us"].toDouble() > 0);
        QVERIFY(o["max_rel_error"].toDouble() <= 1e-5);
    }
    QCOMPARE(results[0].toObject()["k"].toInt(), 30);
    for (const char* key : {"cpu", "blas", "threads", "kernel"}) QVERIFY2(doc.contains(key), key);
    QCOMPARE(doc["threads"].toInt(), 1);

    srigl::sessions::RunStore store(db.toStdString());
    const auto rows = store.timings();
    QCOMPARE(rows.size(), size_t{4});
    QCOMPARE(rows[0].inFeatures, int64_t{300});
    QCOMPARE(rows[0].runId, int64_t{0});
    QVERIFY(rows[0].condensedUs > 0 && !rows[0].blas.empty() && !rows[0].kernel.empty());
}

void TestCliBench::benchOfRecordedRunTimesLayersAndModel() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t id = trainRecorded(db, "srigl");
    QVERIFY(id > 0);
    const SriglResult r = runCli({"bench", "--run", QString::number(id), "--batch", "1,16", "--seconds", "0", "--json",
                                 "--db", db});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject doc = lastJsonLine(r.out);
    QCOMPARE(doc["results"].toArray().size(), 3 * 2); // fc1..fc3, two batches
    QCOMPARE(doc["results"].toArray()[0].toObject()["layer"].toString(), QString("fc1"));
    const QJsonArray models = doc["models"].toArray();
    QCOMPARE(models.size(), 2);
    QVERIFY(models[0].toObject()["max_rel_error"].toDouble() <= 1e-5);
    srigl::sessions::RunStore store(db.toStdString());
    const auto rows = store.timings(id);
    QCOMPARE(rows.size(), size_t{8});
    QCOMPARE(rows.back().layer, std::string("model"));
}

void TestCliBench::runThatIsNotConstantFanInIsRefused() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t id = trainRecorded(db, "rigl");
    QVERIFY(id > 0);
    const SriglResult r = runCli({"bench", "--run", QString::number(id), "--seconds", "0", "--db", db});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("cannot be condensed") && r.err.contains("not constant fan-in"), qPrintable(r.err));
    const SriglResult unknown = runCli({"bench", "--run", "999", "--db", db});
    QCOMPARE(unknown.exitCode, 2);
    QVERIFY2(unknown.err.contains("999"), qPrintable(unknown.err));
}

void TestCliBench::cudaWithoutCudaExitsTwo() {
    QTemporaryDir tmp;
    const SriglResult r = runCli({"bench", "--device", "cuda", "--no-db", "--in", "10", "--out", "4"});
    if (r.exitCode == 0) QSKIP("this build has CUDA and a GPU");
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("cuda"), qPrintable(r.err));
    const SriglResult bad = runCli({"bench", "--isa", "sse9", "--no-db"});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY2(bad.err.contains("--isa"), qPrintable(bad.err));
}

void TestCliBench::exportIsReadByPytorch() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t id = trainRecorded(db, "srigl");
    QVERIFY(id > 0);
    const QString folder = tmp.filePath("condensed");
    const SriglResult r = runCli({"export", QString::number(id), "--condensed", folder, "--db", db, "--json"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QCOMPARE(lastJsonLine(r.out)["layers"].toArray().size(), 3);
    // PyTorch (Debian's python3-torch, installed by scripts/setup.sh) loads it with no SRigL code.
    const SriglResult check = runSriglProcess("/usr/bin/python3", {kCheckScript, folder});
    QVERIFY2(check.exitCode == 0, qPrintable(check.out + check.err));
    QVERIFY(check.out.contains("max_rel_error"));
}

void TestCliBench::exportErrorsAreClear() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t id = trainRecorded(db, "srigl");
    const QString folder = tmp.filePath("taken");
    std::filesystem::create_directories(folder.toStdString());
    { std::ofstream((folder + "/keep.txt").toStdString()) << "data"; }
    SriglResult r = runCli({"export", QString::number(id), "--condensed", folder, "--db", db});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("not empty"), qPrintable(r.err));
    QVERIFY(std::filesystem::exists((folder + "/keep.txt").toStdString()));
    r = runCli({"export", "4242", "--condensed", tmp.filePath("x"), "--db", db});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("4242"), qPrintable(r.err));
    r = runCli({"export", tmp.filePath("missing.ckpt"), "--condensed", tmp.filePath("y"), "--db", db});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("missing.ckpt"), qPrintable(r.err));
}

// --force replaces an earlier condensed export whole, and never a folder that holds anything else.
// NFS and many FUSE file systems have no RENAME_EXCHANGE: --force then moves the old export aside
// and the new one in (two renames). The result must be the same whole export, with nothing left.
void TestCliBench::exportForceWorksWithoutRenameExchange() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t first = trainRecorded(db, "srigl");
    const int64_t second = trainRecorded(db, "srigl");
    const QString folder = tmp.filePath("condensed");
    SriglResult r = runCli({"export", QString::number(first), "--condensed", folder, "--db", db});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    qputenv("LD_PRELOAD", SRIGL_NO_RENAME_EXCHANGE_SHIM);
    // In a SRIGL_SANITIZE=1 tree ASan wants its runtime first; the shim needs no instrumentation.
    const QByteArray asan = qgetenv("ASAN_OPTIONS");
    qputenv("ASAN_OPTIONS", asan + (asan.isEmpty() ? "" : ":") + "verify_asan_link_order=0");
    r = runCli({"export", QString::number(second), "--condensed", folder, "--db", db, "--force"});
    qunsetenv("LD_PRELOAD");
    if (asan.isEmpty()) qunsetenv("ASAN_OPTIONS");
    else qputenv("ASAN_OPTIONS", asan);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("RENAME_EXCHANGE refused"), qPrintable(r.err)); // the fallback ran
    QCOMPARE(QDir(tmp.path()).entryList({"*condensed*"}, QDir::AllEntries | QDir::Hidden), QStringList{"condensed"});
    QFile manifest(folder + "/manifest.json");
    QVERIFY(manifest.open(QIODevice::ReadOnly));
    const QJsonObject doc = QJsonDocument::fromJson(manifest.readAll()).object();
    QCOMPARE(doc["run_id"].toInteger(), qint64(second));
}

void TestCliBench::exportForceReplacesOnlyAnEarlierExport() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const int64_t id = trainRecorded(db, "srigl");
    const QString folder = tmp.filePath("condensed");
    SriglResult r = runCli({"export", QString::number(id), "--condensed", folder, "--db", db});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    r = runCli({"export", QString::number(id), "--condensed", folder, "--db", db, "--force"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QCOMPARE(QDir(tmp.path()).entryList({"*condensed*"}, QDir::AllEntries | QDir::Hidden), QStringList{"condensed"});
    { std::ofstream((folder + "/keep.txt").toStdString()) << "data"; }
    r = runCli({"export", QString::number(id), "--condensed", folder, "--db", db, "--force"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("keep.txt"), qPrintable(r.err));
    const QString mine = tmp.filePath("mine");
    std::filesystem::create_directories(mine.toStdString());
    { std::ofstream((mine + "/notes.txt").toStdString()) << "data"; }
    r = runCli({"export", QString::number(id), "--condensed", mine, "--db", db, "--force"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("not a SRigL condensed export"), qPrintable(r.err));
    QCOMPARE(QDir(mine).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList{"notes.txt"});
}

// --training: the three variants of a layer step, whole model steps with update steps apart, and
// rows stored with their kind.
void TestCliBench::trainingBenchTimesLayersAndModels() {
    QTemporaryDir tmp;
    const QString db = tmp.filePath("runs.db");
    const SriglResult r = runCli({"bench", "--training", "--in", "256", "--out", "64", "--sparsity", "0.9",
                                 "--batch", "4,32", "--seconds", "0", "--threads", "1", "--model", "mlp", "--hidden",
                                 "128", "--steps", "4", "--delta-t", "2", "--json", "--db", db});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject doc = lastJsonLine(r.out);
    QVERIFY(doc["training"].toBool());
    const QJsonArray layers = doc["layers"].toArray();
    QCOMPARE(layers.size(), 2);
    for (const auto& v : layers) {
        const QJsonObject o = v.toObject();
        QCOMPARE(o["k"].toInt(), 26);
        for (const char* key : {"dense_us", "masked_dense_us", "condensed_us"}) QVERIFY2(o[key].toDouble() > 0, key);
    }
    const QJsonArray models = doc["models"].toArray();
    QCOMPARE(models.size(), 8); // two batches x (dense, masked_dense, condensed, auto)
    for (const auto& v : models) {
        const QJsonObject o = v.toObject();
        QVERIFY(o["step_ms"].toDouble() > 0);
        QVERIFY(o["state_bytes"].toDouble() > 0);
        QVERIFY2(o["peak_rss_bytes"].toDouble() > 0, qPrintable(o["variant"].toString())); // each variant alone
        const QString variant = o["variant"].toString();
        if (variant == "dense") {
            QVERIFY(o["update_step_ms"].isNull()); // the dense twin has no mask updates
            continue;
        }
        if (variant == "auto") continue;
        QVERIFY2(o["update_step_ms"].toDouble() > 0, qPrintable(variant)); // steps 2 and 4 update the masks
        QVERIFY(o["layers"].toString().contains(variant == "condensed" ? "fc1=condensed" : "fc1=masked_dense"));
    }
    // Condensed keeps no dense weight, gradient, mask or accumulated gradient for fc1.
    QVERIFY(models[2].toObject()["state_bytes"].toDouble() < models[1].toObject()["state_bytes"].toDouble());

    srigl::sessions::RunStore store(db.toStdString());
    int steps = 0, updates = 0;
    for (const auto& row : store.timings()) {
        if (row.kind == "train_step") ++steps;
        if (row.kind == "train_update") ++updates;
        if (row.kind != "inference") QVERIFY(row.maskedUs > 0);
    }
    QCOMPARE(steps, 4); // two layer rows, two model rows
    QCOMPARE(updates, 2);
}

// The text table: a peak_MB column with a positive value for every variant.
void TestCliBench::trainingBenchPrintsPeakRss() {
    const SriglResult r = runCli({"bench", "--training", "--in", "128", "--out", "32", "--sparsity", "0.9", "--batch",
                                 "8", "--seconds", "0", "--threads", "1", "--model", "mlp", "--hidden", "64", "--steps",
                                 "2", "--delta-t", "2", "--no-db"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QStringList lines = r.out.split('\n');
    int header = -1;
    for (int i = 0; i < lines.size() && header < 0; ++i)
        if (lines[i].contains("variant") && lines[i].contains("state_MB")) header = i;
    QVERIFY2(header >= 0, qPrintable(r.out));
    const QStringList columns = QString(lines[header]).replace("x dense", "x_dense").simplified().split(' ');
    const int peak = static_cast<int>(columns.indexOf("peak_MB"));
    QVERIFY2(peak > columns.indexOf("state_MB"), qPrintable(lines[header]));
    int rows = 0;
    for (int i = header + 1; i < lines.size() && !lines[i].trimmed().isEmpty(); ++i, ++rows) {
        const QStringList cells = lines[i].simplified().split(' ');
        QVERIFY2(cells.size() > peak, qPrintable(lines[i]));
        bool ok = false;
        QVERIFY2(cells[peak].toDouble(&ok) > 0 && ok, qPrintable(lines[i]));
    }
    QCOMPARE(rows, 4); // dense, masked_dense, condensed, auto
}

// --conv: a stride-1 Conv2d's step three ways (the bench checks the direct kernels against LibTorch's
// convolution before timing: a disagreement would exit 2), its row named and k counted over the taps.
void TestCliBench::trainingBenchTimesAConvolution() {
    const QJsonArray layers = convBenchRows("3,9,3,1", "8", "1,5");
    QCOMPARE(layers.size(), 2);
    for (const auto& v : layers) {
        const QJsonObject o = v.toObject();
        QVERIFY2(o["layer"].toString().startsWith("conv 3 -> 8 on 9x9, 3x3 kernel, padding 1"),
                 qPrintable(o["layer"].toString()));
        QCOMPARE(o["in"].toInt(), 27);
        QCOMPARE(o["k"].toInt(), 14); // half of 27 taps, rounded to the nearest whole tap
        for (const char* key : {"dense_us", "masked_dense_us", "condensed_us"}) QVERIFY2(o[key].toDouble() > 0, key);
    }
    SriglResult bad = runCli({"bench", "--training", "--conv", "1,3,5,0", "--no-db"});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY2(bad.err.contains("larger than the padded image") || bad.err.contains("no larger than"), qPrintable(bad.err));
    bad = runCli({"bench", "--training", "--conv", "1,3,5", "--no-db"});
    QCOMPARE(bad.exitCode, 2); // three values where four are needed
}

// --conv C,H,K,P,S: a strided Conv2d (ResNet's 3x3 stride 2 on an odd image), checked against LibTorch's
// strided convolution before timing (the kernels' other strides and kernels: test_condensed_conv); a
// stride below 1 or a sixth value is refused.
void TestCliBench::trainingBenchTimesAStridedConvolution() {
    const QJsonArray layers = convBenchRows("4,9,3,1,2", "6", "3");
    QCOMPARE(layers.size(), 1);
    const QJsonObject o = layers[0].toObject();
    QVERIFY2(o["layer"].toString() == "conv 4 -> 6 on 9x9, 3x3 kernel, padding 1, stride 2",
             qPrintable(o["layer"].toString()));
    QCOMPARE(o["in"].toInt(), 36);
    for (const char* key : {"dense_us", "masked_dense_us", "condensed_us"}) QVERIFY2(o[key].toDouble() > 0, key);
    SriglResult bad = runCli({"bench", "--training", "--conv", "4,9,3,1,0", "--no-db"});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY2(bad.err.contains("S >= 1"), qPrintable(bad.err));
    bad = runCli({"bench", "--training", "--conv", "4,9,3,1,2,2", "--no-db"});
    QCOMPARE(bad.exitCode, 2);
}

void TestCliBench::trainingBenchRefusesWhatItCannotTime() {
    SriglResult r = runCli({"bench", "--training", "--device", "cuda", "--no-db"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY(r.err.contains("CPU"));
    r = runCli({"bench", "--training", "--run", "3", "--no-db"});
    QCOMPARE(r.exitCode, 2);
    r = runCli({"bench", "--training", "--model", "resnet18", "--no-db", "--seconds", "0"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY(r.err.contains("CIFAR-10"));
    // A layer whose dense form cannot exist here is refused before anything is allocated (it was
    // allocated, 17 GB at a time, until the process was killed): 4e12 entries, whatever the machine.
    for (const bool training : {true, false}) {
        QStringList args = {"bench", "--in", "2000000", "--out", "2000000", "--sparsity", "0.99", "--no-db", "--seconds", "0"};
        if (training) args << "--training";
        r = runCli(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("a 2000000 x 2000000 layer needs at least") && r.err.contains("srigl train"), qPrintable(r.err));
    }
    // A convolution whose fan-in C x K x K overflows int64 (2^62 x 3 x 3) named a negative fan-in and
    // slipped past the memory check; it is refused by its sizes.
    r = runCli({"bench", "--training", "--conv", "4611686018427387904,3,3,1", "--out", "8", "--sparsity", "0.9",
                "--no-db", "--seconds", "0"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("fan-in of C x K x K") && !r.err.contains("terminate"), qPrintable(r.err));
}

QTEST_GUILESS_MAIN(TestCliBench)
#include "test_cli_bench.moc"
