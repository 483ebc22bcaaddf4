// Hostile input at the `srigl` door (issue 14): every oversized or malformed input is a clean exit 2
// with a message naming the file, never a signal, and nothing reaches the database.
#include <QtTest>

#include "tests/support/srigl_process.hpp"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

#include <sys/stat.h>

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

bool writeBytes(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QByteArray readBytes(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// A FIFO at `path` (any user can make one, unlike a device node): what a writer must neither
// replace, delete nor open (opening it for writing blocks until a reader comes).
bool makeFifo(const QString& path) { return ::mkfifo(QFile::encodeName(path).constData(), 0644) == 0; }

bool isFifo(const QString& path) {
    struct stat st {};
    return ::lstat(QFile::encodeName(path).constData(), &st) == 0 && S_ISFIFO(st.st_mode);
}

QString describe(const SriglResult& r) {
    return QString("exit %1 (-1: signal or timeout), stderr: %2").arg(r.exitCode).arg(r.err.left(600));
}

} // namespace

class TestCliInputLimits : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void deeplyNestedConfigExitsTwo();
    void exportKeepsTheFilesBesideAndSpecialFiles();
    void renderToAFifoIsRefusedNotHung();
    void outputsNeverReplaceStoredData();
    void negativeIdsAreRefused();
    void allocationFailureHasNoBacktrace();

private:
    QTemporaryDir runDir_;
    QString db_;
    QString runId_;
};

// One tiny recorded run (with its final checkpoint and mask snapshots) for the export and render cases.
void TestCliInputLimits::initTestCase() {
    QVERIFY(runDir_.isValid());
    db_ = runDir_.filePath("runs.db");
    const SriglResult r = runSriglProcess(
        kSrigl, {"train", "--json", "--db", db_, "--set", "synthetic_train=256", "--set", "synthetic_test=64", "--set",
                 "epochs=1", "--set", "batch_size=32", "--set", "hidden=24,12", "--set", "delta_t=2", "--set",
                 "threads=1", "--set", "dense_reference_steps=0"});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    runId_ = QString::number(static_cast<qint64>(lastJsonLine(r.out)["run_id"].toDouble()));
    QVERIFY(runId_ != "0");
}

// Defect 3: a 200 KB config of JSON nested 100,000 deep ended in SIGSEGV (exit 139).
void TestCliInputLimits::deeplyNestedConfigExitsTwo() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString config = dir.filePath("deep.json");
    const int depth = 100000;
    QVERIFY(writeBytes(config, "{\"name\": " + QByteArray(depth, '[') + QByteArray(depth, ']') + "}"));
    const QString db = dir.filePath("r.db");

    const SriglResult r = runSriglProcess(kSrigl, {"train", "--config", config, "--db", db}, 120000);
    QVERIFY2(r.exitCode == 2, qPrintable(QString("exit %1 (-1: signal), stderr: %2").arg(r.exitCode).arg(r.err.left(500))));
    QVERIFY2(r.err.contains(config), qPrintable(r.err.left(500)));
    QVERIFY2(r.err.contains("deeper than 64"), qPrintable(r.err.left(500)));
    QVERIFY2(r.err.size() < 1000, qPrintable(r.err.left(1000)));
    QVERIFY2(!QFileInfo::exists(db), "the refused run created its database");
}

// Audit defect: `export --pytorch m.pt` overwrote an existing m.check.pt without --force, and with
// --force renamed a plain file over a FIFO or device node at the path (as root: /dev/full).
void TestCliInputLimits::exportKeepsTheFilesBesideAndSpecialFiles() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString mine = dir.filePath("m.check.pt");
    QVERIFY(writeBytes(mine, "my own notes, not a check pair\n"));
    SriglResult r = runSriglProcess(kSrigl, {"export", runId_, "--db", db_, "--pytorch", dir.filePath("m.pt")}, 120000);
    QVERIFY2(r.exitCode == 2, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(mine) && r.err.contains("--force"), qPrintable(r.err));
    QCOMPARE(readBytes(mine), QByteArray("my own notes, not a check pair\n"));
    QVERIFY(!QFileInfo::exists(dir.filePath("m.pt")));

    const QString fifo = dir.filePath("f.pt");
    QVERIFY(makeFifo(fifo));
    r = runSriglProcess(kSrigl, {"export", runId_, "--db", db_, "--pytorch", fifo, "--force"}, 120000);
    QVERIFY2(r.exitCode == 2, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(fifo) && r.err.contains("not a regular file"), qPrintable(r.err));
    QVERIFY2(isFifo(fifo), "the FIFO was replaced");

    const QString folder = dir.filePath("d.pt");
    QVERIFY(QDir().mkdir(folder));
    r = runSriglProcess(kSrigl, {"export", runId_, "--db", db_, "--pytorch", folder, "--force"}, 120000);
    QVERIFY2(r.exitCode == 2, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(folder) && r.err.contains("folder"), qPrintable(r.err));
    QVERIFY(QFileInfo(folder).isDir());

    // With --force the file and its check pair are replaced, as documented.
    r = runSriglProcess(kSrigl, {"export", runId_, "--db", db_, "--pytorch", dir.filePath("m.pt"), "--force"}, 120000);
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY(readBytes(mine).startsWith("PK"));
}

// Audit defect: OpenCV opens --out itself, so a FIFO there blocked `runs render` forever (and a
// device node was unlinked when the write failed).
void TestCliInputLimits::renderToAFifoIsRefusedNotHung() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString fifo = dir.filePath("mask.png");
    QVERIFY(makeFifo(fifo));
    const SriglResult r =
        runSriglProcess(kSrigl, {"runs", "render", runId_, "--db", db_, "--layer", "fc1", "--out", fifo}, 60000);
    QVERIFY2(r.exitCode == 2, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(fifo) && r.err.contains("not a regular file"), qPrintable(r.err));
    QVERIFY(isFifo(fifo));
    // An ordinary file is still replaced.
    const QString png = dir.filePath("ok.png");
    QVERIFY(writeBytes(png, "old"));
    const SriglResult ok =
        runSriglProcess(kSrigl, {"runs", "render", runId_, "--db", db_, "--layer", "fc1", "--out", png}, 60000);
    QVERIFY2(ok.exitCode == 0, qPrintable(describe(ok)));
    QVERIFY(QFileInfo(png).size() > 100);
}

// Audit defect: a negative id was taken as "not given": `runs list --sweep -5` listed every run,
// `bench --run -1` benched the synthetic layer, `sweep --resume -1` asked for a --grid, and
// `runs render --step -5` drew the last snapshot.
// `runs render --out link.png`, link.png a link to the run database, replaced the database with a
// PNG (every run lost), and `export --pytorch CKPT --force` replaced the run's checkpoint.
void TestCliInputLimits::outputsNeverReplaceStoredData() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString link = dir.filePath("mask.png");
    QVERIFY(QFile::link(db_, link));
    const QStringList checkpoints = QDir(runDir_.filePath("checkpoints")).entryList({"*.ckpt"}, QDir::Files);
    QCOMPARE(checkpoints.size(), 1);
    const QString checkpoint = runDir_.filePath("checkpoints/" + checkpoints[0]);
    const QByteArray database = readBytes(db_), held = readBytes(checkpoint);
    const SriglResult render =
        runSriglProcess(kSrigl, {"runs", "render", runId_, "--db", db_, "--layer", "fc1", "--out", link}, 60000);
    QVERIFY2(render.exitCode == 2, qPrintable(describe(render)));
    QVERIFY2(render.err.contains(link) && render.err.contains("holds a SQLite database"), qPrintable(render.err));
    const SriglResult video = runSriglProcess(
        kSrigl, {"runs", "render", runId_, "--db", db_, "--layer", "fc1", "--out", checkpoint + ".mp4"}, 60000);
    QVERIFY2(video.exitCode == 0, qPrintable(describe(video))); // a new file beside it is fine
    const SriglResult exported =
        runSriglProcess(kSrigl, {"export", runId_, "--db", db_, "--pytorch", checkpoint, "--force"}, 60000);
    QVERIFY2(exported.exitCode == 2, qPrintable(describe(exported)));
    QVERIFY2(exported.err.contains("holds a SRigL checkpoint"), qPrintable(exported.err));
    QCOMPARE(readBytes(db_), database);
    QCOMPARE(readBytes(checkpoint), held);
    const SriglResult list = runSriglProcess(kSrigl, {"runs", "list", "--db", db_}, 60000);
    QVERIFY2(list.exitCode == 0 && list.out.contains("finished"), qPrintable(describe(list)));
}

void TestCliInputLimits::negativeIdsAreRefused() {
    const QList<QStringList> commands = {
        {"runs", "list", "--db", db_, "--sweep", "-5"},
        {"runs", "render", runId_, "--db", db_, "--layer", "fc1", "--step", "-5", "--out", runDir_.filePath("n.png")},
        {"bench", "--run", "-1", "--no-db", "-q", "--seconds", "0", "--in", "8", "--out", "8", "--batch", "1"},
        {"sweep", "--resume", "-1", "--db", db_, "-q"},
    };
    for (const auto& args : commands) {
        const SriglResult r = runSriglProcess(kSrigl, args, 120000);
        QVERIFY2(r.exitCode == 2, qPrintable(args.join(' ') + ": " + describe(r)));
        QVERIFY2(r.err.contains("-5") || r.err.contains("-1"), qPrintable(args.join(' ') + ": " + r.err));
    }
    QVERIFY(!QFileInfo::exists(runDir_.filePath("n.png")));
}

// Audit defect: commands other than train printed a LibTorch error with its C++ backtrace
// ("frame #0: ..."), dozens of lines, for an allocation the sizes asked for cannot be satisfied.
void TestCliInputLimits::allocationFailureHasNoBacktrace() {
    // (`analyze init-variance`, `train` and, since stop 41, `bench` refuse sizes beyond the machine's
    // memory before allocating. A layer that fits the machine but not the process's address space,
    // here 1.5 GB, still reaches the allocator: its random keys alone are 1.6 GB.)
    const SriglResult r = runSriglProcess(
        "/bin/sh", {"-c", "ulimit -v 1500000 && exec \"$0\" \"$@\"", kSrigl, "bench", "--in", "20000", "--out", "20000",
                    "--batch", "1", "--sparsity", "0.9", "--no-db"},
        120000);
    QVERIFY2(r.exitCode == 2, qPrintable(describe(r)));
    QVERIFY2(r.err.contains("allocate"), qPrintable(r.err));
    QVERIFY2(!r.err.contains("frame #"), qPrintable(r.err.left(1000)));
    QVERIFY2(r.err.trimmed().count('\n') == 0, qPrintable(r.err.left(1000)));
}

QTEST_GUILESS_MAIN(TestCliInputLimits)
#include "test_cli_input_limits.moc"
