// Where the output writers may write, and what they leave: the one shared check of a target path
// (sessions::outputTarget, used by the command line, the video and PNG-sequence writers and the
// Studio), and the temporaries of a killed writer - removed by the next writer of the same target
// when their pid is dead, never when it is alive, never when the name is not exactly theirs.
#include <QtTest>

#include "sessions/render/mask_renderer.hpp"
#include "sessions/store/output_target.hpp"

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

QTEST_GUILESS_MAIN(TestOutputFiles)
#include "test_output_files.moc"
