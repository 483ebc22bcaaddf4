// Where the output writers may write, and what they leave: the one shared check of a target path
// (sessions::outputTarget, used by the command line, the video and PNG-sequence writers and the
// Studio), and the temporaries of a killed writer - removed by the next writer of the same target
// when their pid is dead, never when it is alive, never when the name is not exactly theirs.
#include <QtTest>

#include "sessions/render/mask_renderer.hpp"
#include "sessions/store/output_target.hpp"
#include "sessions/render/frame_folder.hpp"
#include "sessions/render/video_file.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

using namespace srigl;
using namespace srigl::sessions;

namespace {

// The pid of `true`, which has exited and been reaped by the time this returns: a killed writer.
QString deadPid() {
    QProcess p;
    p.start(QStringLiteral("true"), {});
    if (!p.waitForStarted()) return QString();
    const qint64 pid = p.processId();
    p.waitForFinished();
    return QString::number(pid);
}

// A process that lives as long as this does: a writer still at work.
class LiveProcess {
public:
    LiveProcess() {
        process_.start(QStringLiteral("sleep"), {QStringLiteral("600")});
        process_.waitForStarted();
    }
    ~LiveProcess() {
        process_.kill();
        process_.waitForFinished();
    }
    LiveProcess(const LiveProcess&) = delete;
    LiveProcess& operator=(const LiveProcess&) = delete;
    QString pid() const { return QString::number(process_.processId()); }

private:
    QProcess process_;
};

void touch(const QString& path) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("partial");
}

QStringList entries(const QString& dir) {
    return QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDir::Name);
}

std::vector<LayerMaskSnapshot> masks(int count) {
    std::vector<LayerMaskSnapshot> out;
    for (int u = 0; u < count; ++u) {
        LayerMaskSnapshot s;
        s.name = "fc1";
        s.outFeatures = 4;
        s.fanIn = 8;
        s.bits.assign(4, 0);
        s.bits[static_cast<size_t>(u % 4)] = 0x0f;
        out.push_back(s);
    }
    return out;
}

} // namespace

class TestOutputFiles : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void targetIsJudgedByWhatIsThere();
    void videoRemovesTemporariesOfDeadWritersOnly();
    void framesRemoveStagingOfDeadWritersOnly();
    void storedDataIsNeverAnOutput();
};

void TestOutputFiles::targetIsJudgedByWhatIsThere() {
    QTemporaryDir dir;
    const auto at = [&](const char* name) { return dir.filePath(name).toStdString(); };
    const auto problem = [](const std::string& path) { return QString::fromStdString(outputTargetProblem(path, "F", "S")); };
    QVERIFY(QDir(dir.path()).mkdir("folder"));
    touch(dir.filePath("file"));
    QCOMPARE(::mkfifo(at("fifo").c_str(), 0644), 0);
    QVERIFY(QFile::link(dir.filePath("folder"), dir.filePath("to_folder")));
    QVERIFY(QFile::link(dir.filePath("file"), dir.filePath("to_file")));
    QVERIFY(QFile::link(QStringLiteral("/dev/null"), dir.filePath("to_null")));
    QVERIFY(QFile::link(dir.filePath("nothing"), dir.filePath("to_nothing")));

    QCOMPARE(outputTarget(at("new")), OutputTarget::Absent);
    QCOMPARE(outputTarget(at("to_nothing")), OutputTarget::Absent); // written through the link
    QCOMPARE(outputTarget(at("file")), OutputTarget::RegularFile);
    QCOMPARE(outputTarget(at("to_file")), OutputTarget::RegularFile);
    QCOMPARE(outputTarget(at("folder")), OutputTarget::Folder);
    QCOMPARE(outputTarget(at("to_folder")), OutputTarget::Folder);
    QCOMPARE(outputTarget(at("fifo")), OutputTarget::Special);
    QCOMPARE(outputTarget("/dev/null"), OutputTarget::Special); // looked at, never opened
    QCOMPARE(outputTarget(at("to_null")), OutputTarget::Special);
    QCOMPARE(storedDataKind(at("fifo")), std::string()); // not opened: it would block

    for (const char* ok : {"new", "to_nothing", "file", "to_file"}) QCOMPARE(problem(at(ok)), QString());
    for (const char* folder : {"folder", "to_folder"}) QCOMPARE(problem(at(folder)), QStringLiteral("is a folder; F"));
    const QString special = QStringLiteral("exists and is not a regular file (a device, FIFO or socket); S");
    QCOMPARE(problem(at("fifo")), special);
    QCOMPARE(problem(at("to_null")), special);
    QCOMPARE(problem("/dev/null"), special);
}

void TestOutputFiles::videoRemovesTemporariesOfDeadWritersOnly() {
    QTemporaryDir dir;
    const QString dead = deadPid();
    LiveProcess live;
    QVERIFY(!dead.isEmpty() && live.pid() != "0");
    const QString abandoned = ".clip.srigl-partial-" + dead + "-0.avi";
    const QStringList kept{
        ".clip.srigl-partial-" + live.pid() + "-0.avi",   // a writer at work
        ".clip.srigl-partial-" + dead + "-0.mp4",         // another target: clip.mp4
        ".other.srigl-partial-" + dead + "-0.avi",        // another target: other.avi
        ".clip.srigl-partial-" + dead + "-0.avi.keep",    // not exactly the pattern
        ".clip.srigl-partial-" + dead + ".avi",           // nor this
        "clip.srigl-partial-" + dead + "-0.avi",          // nor this (not hidden)
    };
    touch(dir.filePath(abandoned));
    for (const QString& name : kept) touch(dir.filePath(name));
    QVERIFY(QDir(dir.path()).mkdir(".clip.srigl-partial-" + dead + "-1.avi")); // a folder, not a video
    const QString mine = ".clip.srigl-partial-" + QString::number(::getpid()) + "-";
    bool sawMine = false;
    writeMaskVideo(dir.filePath("clip.avi").toStdString(), masks(3), 4.0, [&](size_t, size_t) {
        for (const QString& name : entries(dir.path())) sawMine |= name.startsWith(mine) && name.endsWith(".avi");
        return true;
    });
    QVERIFY2(sawMine, "the temporary carries the writer's pid");
    QStringList expected = kept;
    expected << "clip.avi" << ".clip.srigl-partial-" + dead + "-1.avi";
    expected.sort();
    QCOMPARE(entries(dir.path()), expected);
}

void TestOutputFiles::framesRemoveStagingOfDeadWritersOnly() {
    QTemporaryDir dir;
    const QString dead = deadPid();
    LiveProcess live;
    QVERIFY(!dead.isEmpty() && live.pid() != "0");
    QDir root(dir.path());
    // A killed export to a new folder left its staging folder beside it, one to an existing folder
    // inside it.
    const QString besideDead = ".frames.srigl-partial-" + dead + "-0", besideLive = ".frames.srigl-partial-" + live.pid() + "-0";
    const QString otherTarget = ".other.srigl-partial-" + dead + "-0";
    for (const QString& name : {besideDead, besideLive, otherTarget}) {
        QVERIFY(root.mkdir(name));
        touch(root.filePath(name + "/fc1_0000_step0.png"));
    }
    const std::vector<int64_t> steps{0, 10, 20};
    writeMaskFrames(dir.filePath("frames").toStdString(), "fc1", masks(3), steps);
    QCOMPARE(entries(dir.path()), (QStringList{besideLive, otherTarget, "frames"}));
    const QString insideDead = "frames/.frames.srigl-partial-" + dead + "-1";
    const QString insideLive = "frames/.frames.srigl-partial-" + live.pid() + "-1";
    for (const QString& name : {insideDead, insideLive}) {
        QVERIFY(root.mkdir(name));
        touch(root.filePath(name + "/fc1_0001_step10.png"));
    }
    writeMaskFrames(dir.filePath("frames").toStdString(), "fc1", masks(3), steps);
    QCOMPARE(entries(dir.filePath("frames")), (QStringList{".frames.srigl-partial-" + live.pid() + "-1",
                                                           "fc1_0000_step0.png", "fc1_0001_step10.png", "fc1_0002_step20.png"}));
    QCOMPARE(entries(dir.filePath(besideLive)), QStringList{"fc1_0000_step0.png"});
}

void TestOutputFiles::storedDataIsNeverAnOutput() {
    // `srigl runs render --out link.png`, link.png a link to runs.db, replaced the database with a
    // PNG: every recorded run was gone. A database, its companions and checkpoints are now refused
    // as outputs by content (a link is judged by what it points to), whatever their name.
    QTemporaryDir dir;
    const auto at = [&](const char* name) { return dir.filePath(name).toStdString(); };
    const auto bytesOf = [](const std::string& path) {
        QFile f(QString::fromStdString(path));
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    };
    auto write = [&](const char* name, const QByteArray& bytes) {
        QFile f(dir.filePath(name));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(bytes);
    };
    qputenv("SRIGL_DB_JOURNAL", "wal"); // even where the temporary folder is on NFS
    RunStore store(at("runs.db")); // held open: its -wal and -shm exist
    NewRun n;
    n.config = "{}";
    store.createRun(n);
    QVERIFY(QFile::exists(dir.filePath("runs.db-wal")) && QFile::exists(dir.filePath("runs.db-shm")));
    write("foreign.sqlite", QByteArray("SQLite format 3\0", 16) + QByteArray(4080, '\0'));
    write("run.ckpt", QByteArray("SRIGLCKP\x02\0\0\0", 12) + QByteArray(100, 'x'));
    write("old.wal", QByteArray("\x37\x7f\x06\x82", 4) + QByteArray(28, '\0'));
    write("old.journal", QByteArray("\xd9\xd5\x05\xf9\x20\xa1\x63\xd7", 8) + QByteArray(504, '\0'));
    write("runs.db-journal", QByteArray()); // an emptied journal: judged by the database beside it
    write("notes.db-shm", QByteArray(64, '\0')); // no database beside it: an ordinary file
    write("picture.png", QByteArray("\x89PNG", 4));
    QVERIFY(QFile::link(dir.filePath("runs.db"), dir.filePath("link.png")));

    const std::vector<std::pair<const char*, const char*>> stored{
        {"runs.db", "a SQLite database"},
        {"link.png", "a SQLite database"},
        {"foreign.sqlite", "a SQLite database"},
        {"run.ckpt", "a SRigL checkpoint"},
        {"old.wal", "the write-ahead log of a SQLite database"},
        {"old.journal", "a SQLite rollback journal"},
        {"runs.db-shm", "a companion file (-shm) of the SQLite database "},
        {"runs.db-journal", "a companion file (-journal) of the SQLite database "}};
    for (const auto& [name, kind] : stored) {
        const std::string path = at(name);
        QVERIFY2(storedDataKind(path).rfind(kind, 0) == 0, qPrintable(QString::fromStdString(storedDataKind(path))));
        QCOMPARE(outputTarget(path), OutputTarget::StoredData);
        const QString problem = QString::fromStdString(outputTargetProblem(path, "F", "S"));
        QVERIFY2(problem.startsWith(QStringLiteral("holds ") + kind) && problem.contains("refusing to replace it"),
                 qPrintable(problem));
        const QByteArray before = bytesOf(path);
        QVERIFY_EXCEPTION_THROWN(VideoFile video(path), StoreError);
        QVERIFY_EXCEPTION_THROWN(FrameFolder frames(path), StoreError);
        QCOMPARE(bytesOf(path), before);
    }
    // The WAL of a live database starts with its own header.
    QVERIFY(storedDataKind(at("runs.db-wal")).rfind("the write-ahead log", 0) == 0);
    for (const char* ordinary : {"notes.db-shm", "picture.png"}) {
        QCOMPARE(storedDataKind(at(ordinary)), std::string());
        QCOMPARE(outputTarget(at(ordinary)), OutputTarget::RegularFile);
    }
    QCOMPARE(int(store.listRuns().size()), 1); // the database still reads
}

QTEST_GUILESS_MAIN(TestOutputFiles)
#include "test_output_files.moc"
